import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { shipmentWorkflowId } from '../domain/ids.js';
import { cancelOrderUpdate, carrierEventSignal, requestReturnUpdate } from '../domain/messages.js';
import type { OrderView } from '../domain/order.js';
import type { Actor } from '../domain/schemas.js';
import { timeSkippingEnvironment } from './support/temporal.js';
import { orderHarness } from './support/order-harness.js';

/**
 * Split orders on their own time-skipping server: shipments from several warehouses, their money,
 * a cancel while one ships. (Run after the one-parcel suite in one server they hung in this
 * environment, waiting on a clock something earlier held; on a server of their own they pass.)
 */
let env: TestWorkflowEnvironment;

beforeAll(async () => {
  env = await timeSkippingEnvironment();
});

afterAll(async () => {
  await env?.teardown();
});

const service: Actor = { id: 'checkout-service', role: 'service' };
const support: Actor = { id: 'agent-7', role: 'support' };

const { withOrder, runOrder, waitForStatus } = orderHarness(() => env);

describe('order workflow: shipments from several warehouses', () => {
  const shipmentStatuses = (view: OrderView) => view.shipments.map((s) => [s.warehouseId, s.status]);
  // The default order: 2 mugs (14.00) and a book (36.00), standard shipping 6.99.
  const MUGS = 2800;
  const BOOK = 3600;
  const SHIPPING = 699;

  it('ships a split order as two shipments, captures each share before its pick, and adds up to the total', async () => {
    const { view, fakes } = await runOrder({ split: true }, {}, 'order-shipments-split');
    expect(view.status).toBe('completed');
    expect(shipmentStatuses(view)).toEqual([
      ['wh-east', 'delivered'],
      ['wh-west', 'delivered'],
    ]);
    expect(view.shipments.map((s) => s.items)).toEqual([
      [{ sku: 'MUG-CERAMIC', quantity: 2 }],
      [{ sku: 'BOOK-TEMPORAL', quantity: 1 }],
    ]);
    expect(new Set(view.shipments.map((s) => s.trackingNumber)).size).toBe(2);
    // One capture per shipment: its units, and shipping with the first.
    expect(fakes.ledger.filter((e) => e.kind === 'capture')).toEqual([
      { kind: 'capture', amount: MUGS + SHIPPING, shipment: 1 },
      { kind: 'capture', amount: BOOK, shipment: 2 },
    ]);
    expect(fakes.charged()).toBe(7099);
    expect(view.payment).toEqual({ status: 'captured', authorized: 7099, captured: 7099, refunded: 0 });
    // Each share is captured before its shipment's pick is asked for.
    const names = fakes.names();
    expect(names.lastIndexOf('capturePayment')).toBeLessThan(names.indexOf('requestPick'));
    // The order moves through the partial statuses while one parcel is ahead of the other.
    expect(view.timeline.map((e) => e.status)).toEqual(
      expect.arrayContaining(['partially_shipped', 'shipped', 'partially_delivered', 'delivered', 'completed']),
    );
    expect(fakes.notifications.filter((kind) => kind === 'shipped')).toHaveLength(2);
  });

  it('still ships the first warehouse’s parcel when the second is short and nothing restocks: it refunds the short shipment', async () => {
    const { view, fakes } = await runOrder({
      split: true,
      shortPickOnce: { sku: 'BOOK-TEMPORAL', quantity: 1 },
      shortAt: 'wh-west',
      // After the plan, no warehouse has the book any more: the short shipment cannot be made good.
      onRecord: async (snapshot, world) => {
        if (snapshot.timeline.some((e) => e.type === 'stock_reserved')) world.stockAvailable = false;
      },
    });
    expect(view.status).toBe('completed');
    expect(shipmentStatuses(view)).toEqual([
      ['wh-east', 'delivered'],
      ['wh-west', 'cancelled'],
    ]);
    // Captured: both shares; refunded: the book's share. The customer paid for what shipped.
    expect(fakes.ledger.filter((e) => e.kind === 'refund')).toEqual([{ kind: 'refund', amount: BOOK, shipment: 2 }]);
    expect(fakes.charged()).toBe(MUGS + SHIPPING);
    expect(view.payment).toMatchObject({ captured: 7099, refunded: BOOK });
    expect(fakes.calls.filter((c) => c.name === 'recordShortPick').map((c) => c.args)).toEqual([
      { orderId: view.orderId, shipment: 2, shortages: [{ sku: 'BOOK-TEMPORAL', quantity: 1, reason: 'missing' }] },
    ]);
  });

  it('cancels the shipment still in the warehouse when support cancels while the other ships; the shipped one goes on', async () => {
    await withOrder({ split: true, silentAt: 'wh-west', carrierScans: [] }, {}, async (handle, fakes) => {
      const shipped = await waitForStatus(handle, 'partially_shipped', '10m');
      expect(shipmentStatuses(shipped)).toEqual([
        ['wh-east', 'shipped'],
        ['wh-west', 'reserved'],
      ]);
      const answer = await handle.executeUpdate(cancelOrderUpdate, {
        args: [{ reason: 'changed my mind', requestedBy: support }],
      });
      expect(shipmentStatuses(answer)).toEqual([
        ['wh-east', 'shipped'],
        ['wh-west', 'cancelled'],
      ]);
      // The unshipped share came back; the shipped parcel is the customer's (returns after delivery).
      expect(fakes.ledger.filter((e) => e.kind === 'refund')).toEqual([{ kind: 'refund', amount: BOOK, shipment: 2 }]);
      expect(fakes.calls.filter((c) => c.name === 'releaseStock').map((c) => c.args)).toContainEqual({
        orderId: answer.orderId,
        shipment: 2,
      });
      expect(fakes.names()).toContain('cancelWarehouseTask');
      await fakes.carrierSignal(shipped.shipments[0]!.trackingNumber!, 'delivered');
      const view = await handle.result();
      expect(view.status).toBe('completed');
      expect(fakes.charged()).toBe(MUGS + SHIPPING);
    });
  });

  it('ships what is in stock and backorders the rest as a later shipment (ship_available)', async () => {
    const { view, fakes } = await runOrder({
      missing: { 'BOOK-TEMPORAL': 1 },
      onRecord: async (snapshot, world) => {
        // The book comes back in stock once the first parcel is on its way.
        if (snapshot.timeline.some((e) => e.type === 'shipped')) world.missing = {};
      },
    });
    expect(view.status).toBe('completed');
    expect(view.shipments.map((s) => s.items)).toEqual([
      [{ sku: 'MUG-CERAMIC', quantity: 2 }],
      [{ sku: 'BOOK-TEMPORAL', quantity: 1 }],
    ]);
    expect(shipmentStatuses(view).map(([, status]) => status)).toEqual(['delivered', 'delivered']);
    expect(fakes.charged()).toBe(7099);
  });

  it('records the new shape’s histories: a single-warehouse order, a cancel in the buffer, a short pick', async () => {
    await runOrder({}, {}, 'order-shipments-single-warehouse');
    await withOrder(
      {},
      {},
      async (handle) => {
        await env.sleep('5m');
        const view = await handle.executeUpdate(cancelOrderUpdate, {
          args: [{ reason: 'changed my mind', requestedBy: service }],
        });
        expect(view.status).toBe('cancelled');
        expect(view.payment.status).toBe('voided');
      },
      'order-shipments-cancelled-in-buffer',
    );
    const { view } = await runOrder(
      { shortPickOnce: { sku: 'MUG-CERAMIC', quantity: 1 } },
      {},
      'order-shipments-short-pick',
    );
    expect(view.status).toBe('completed');
    expect(view.shipments).toMatchObject([{ warehouseId: 'wh-west', status: 'delivered' }]);
  });

  it('takes a return of a split order once its shipments have ended, and refunds it (the chaos suite saw one stay delivered)', async () => {
    await withOrder({ split: true }, {}, async (handle) => {
      const delivered = await waitForStatus(handle, 'delivered', '1h');
      for (const n of [1, 2]) {
        const shipment = env.client.workflow.getHandle(shipmentWorkflowId(delivered.orderId, n));
        expect((await shipment.describe()).status.name).toBe('COMPLETED');
      }
      const ret = await handle.executeUpdate(requestReturnUpdate, {
        args: [{ items: [{ sku: 'BOOK-TEMPORAL', quantity: 1 }], reason: 'no_longer_needed', requestedBy: service }],
      });
      const view = await handle.result();
      expect(view.status).toBe('completed');
      expect(view.returns.map((r) => [r.returnId, r.status, r.refunded])).toEqual([[ret.returnId, 'refunded', BOOK]]);
    });
  });

  it('drops a late carrier scan for a shipment whose workflow has ended, and still completes (the chaos suite found orders stuck in delivered)', async () => {
    await withOrder({ split: true }, {}, async (handle) => {
      const delivered = await waitForStatus(handle, 'delivered');
      const ended = env.client.workflow.getHandle(shipmentWorkflowId(delivered.orderId, 1));
      expect((await ended.describe()).status.name).toBe('COMPLETED');
      // The carrier repeats an old scan; the API finds the shipment's workflow closed and signals the order.
      await handle.signal(carrierEventSignal, {
        trackingNumber: delivered.shipments[0]!.trackingNumber!,
        type: 'in_transit',
        at: new Date(await env.currentTimeMs()).toISOString(),
      });
      const view = await handle.result();
      expect(view.status).toBe('completed');
      const failures = (await handle.fetchHistory()).events?.filter((e) => e.workflowTaskFailedEventAttributes) ?? [];
      expect(failures).toEqual([]);
    });
  });
});
