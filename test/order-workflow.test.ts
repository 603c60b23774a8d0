import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { type Duration, defaultPayloadConverter } from '@temporalio/common';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { durationMs } from '../domain/durations.js';
import { orderWorkflowId } from '../domain/ids.js';
import {
  cancelOrderUpdate,
  orderViewQuery,
  requestReturnUpdate,
  retryUpdate,
  returnReceivedSignal,
  stockArrivedSignal,
  warehouseEventSignal,
} from '../domain/messages.js';
import type { OrderView } from '../domain/order.js';
import type { Actor } from '../domain/schemas.js';
import type { FakeWorld } from './support/fake-activities.js';
import { HAPPY_PATH_TIMELINE } from './support/orders.js';
import { timeSkippingEnvironment } from './support/temporal.js';
import { type Fakes, type Handle, orderHarness } from './support/order-harness.js';

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

function timelineTypes(view: OrderView): string[] {
  return view.timeline.map((event) => event.type);
}

function eventAt(view: OrderView, type: string): number {
  const event = view.timeline.find((e) => e.type === type);
  expect(event, `timeline has ${type}`).toBeDefined();
  return Date.parse(event!.at);
}

/** The activity calls made after the first call named `marker`. */
function callsAfter(fakes: Fakes, marker: string): string[] {
  const names = fakes.names();
  return names.slice(names.indexOf(marker) + 1);
}

describe('order workflow: the happy path', () => {
  it('takes an order from receipt to completed, through the 30-minute buffer and the 30-day return window', async () => {
    const { view, fakes } = await runOrder({}, {}, 'order-completed');

    expect(view.status).toBe('completed');
    expect(timelineTypes(view)).toEqual(HAPPY_PATH_TIMELINE);
    // Prices come from the catalog: 2 mugs at 14.00 and a book at 36.00, 1.4 kg standard shipping.
    expect(view.totals).toEqual({ subtotal: 6400, shipping: 699, total: 7099, currency: 'USD' });
    expect(view.payment).toEqual({ status: 'captured', authorized: 7099, captured: 7099, refunded: 0 });
    expect(view.shipments).toMatchObject([
      { shipmentId: `${view.orderId}-1`, warehouseId: 'wh-east', carrier: 'parcelpost', status: 'delivered' },
    ]);
    expect(view.shipments[0]!.items).toEqual([
      { sku: 'MUG-CERAMIC', quantity: 2 },
      { sku: 'BOOK-TEMPORAL', quantity: 1 },
    ]);
    expect(fakes.calls.find((c) => c.name === 'buyLabel')?.args).toMatchObject({ box: { code: 'S' } });
    expect(fakes.charged()).toBe(7099);

    // Nothing is captured before the free-cancel buffer ends.
    expect(eventAt(view, 'payment_captured') - Date.parse(view.receivedAt)).toBeGreaterThanOrEqual(durationMs('30m'));
    expect(Date.parse(view.cancellableUntil) - Date.parse(view.receivedAt)).toBe(durationMs('30m'));
    // The return window runs 30 days from delivery, and the order completes when it closes.
    expect(Date.parse(view.returnableUntil!) - eventAt(view, 'delivered')).toBe(durationMs('30d'));
    expect(eventAt(view, 'order_completed')).toBeGreaterThanOrEqual(Date.parse(view.returnableUntil!));

    expect(fakes.notifications).toEqual([
      'confirmation',
      'shipped',
      'out_for_delivery',
      'delivered',
      'feedback_request',
    ]);
    expect(fakes.names().filter((name) => name === 'capturePayment')).toHaveLength(1);
    // Every status change reached the read model, ending with the final view.
    expect(fakes.snapshots.at(-1)?.status).toBe('completed');
  });

  it('shows the order as confirmed and cancellable during the buffer, before anything is captured', async () => {
    await withOrder({}, {}, async (handle, fakes) => {
      await env.sleep('10m');
      const view = await handle.query(orderViewQuery);
      expect(view.status).toBe('confirmed');
      expect(Date.parse(view.cancellableUntil) - Date.parse(view.receivedAt)).toBe(durationMs('30m'));
      expect(view.payment.status).toBe('authorized');
      expect(fakes.names()).not.toContain('capturePayment');
    });
  });

  it('never moves an order backwards on late or repeated carrier scans', async () => {
    const { view } = await runOrder({
      carrierScans: ['out_for_delivery', 'in_transit', 'out_for_delivery', 'delivered', 'delivered', 'in_transit'],
    });
    expect(view.status).toBe('completed');
    const types = timelineTypes(view);
    expect(types).not.toContain('in_transit');
    expect(types.filter((type) => type === 'out_for_delivery')).toHaveLength(1);
    expect(types.filter((type) => type === 'delivered')).toHaveLength(1);
  });
});

describe('order workflow: cancellation', () => {
  it('cancels free inside the buffer: the authorization is voided, the stock released, nothing captured', async () => {
    await withOrder(
      {},
      {},
      async (handle, fakes) => {
        await env.sleep('10m');
        const view = await handle.executeUpdate(cancelOrderUpdate, {
          args: [{ reason: 'changed my mind', requestedBy: service }],
        });
        expect(view.status).toBe('cancelled');
        expect(view.cancellation).toEqual({ reason: 'changed my mind', requestedBy: 'checkout-service', free: true });
        expect(view.payment.status).toBe('voided');
        expect(fakes.names()).not.toContain('capturePayment');
        expect(callsAfter(fakes, 'notifyCustomer')).toEqual(expect.arrayContaining(['voidUncaptured', 'releaseStock']));
        expect(fakes.ledger.map((entry) => entry.kind)).toEqual(['authorize', 'void']);
        expect(fakes.charged()).toBe(0);
        expect(fakes.notifications.at(-1)).toBe('cancelled');
        expect((await handle.result()).status).toBe('cancelled');
      },
      'order-cancelled-free',
    );
  });

  it('finishes the first step in flight (priced, reserved, authorized) when a cancel arrives, then voids and releases, nothing charged', async () => {
    await withOrder({ slow: { authorizePayment: 1500 } }, {}, async (handle, fakes) => {
      while (!fakes.names().includes('authorizePayment')) await new Promise((resolve) => setTimeout(resolve, 20));
      const view = await handle.executeUpdate(cancelOrderUpdate, {
        args: [{ reason: 'changed my mind', requestedBy: service }],
      });
      expect(view.status).toBe('cancelled');
      expect(view.cancellation).toMatchObject({ free: true });
      expect(view.payment.status).toBe('voided');
      expect(fakes.ledger.map((entry) => entry.kind)).toEqual(['authorize', 'void']);
      expect(fakes.names()).toContain('releaseStock');
      expect(fakes.names()).not.toContain('capturePayment');
      expect(fakes.charged()).toBe(0);
      expect(fakes.notifications.at(-1)).toBe('cancelled');
      expect((await handle.result()).status).toBe('cancelled');
    });
  });

  it('lets support cancel after picking, undoing money first: refund, withdraw the warehouse tasks, unpack and re-shelve, release', async () => {
    await withOrder(
      { warehouse: 'pick-only' },
      {},
      async (handle, fakes) => {
        await waitForStatus(handle, 'processing', '10m');
        await env.sleep('30m');
        expect(fakes.names()).toContain('requestPack');
        const view = await handle.executeUpdate(cancelOrderUpdate, {
          args: [{ reason: 'customer called', requestedBy: support }],
        });
        expect(view.status).toBe('cancelled');
        expect(view.cancellation?.free).toBe(false);
        expect(view.payment).toMatchObject({ status: 'refunded', captured: 7099, refunded: 7099 });
        const undos = callsAfter(fakes, 'requestPack').filter((name) => name !== 'notifyCustomer');
        expect(undos).toEqual([
          // The shipment's undos (money first), then the order's: the rest of the authorization, the rest of the stock.
          'refundPayment',
          'cancelWarehouseTask',
          'cancelWarehouseTask',
          'requestReturnToShelf',
          'returnPickedToShelf',
          'releaseStock',
          'voidUncaptured',
          'releaseStock',
        ]);
        expect(fakes.calls.find((c) => c.name === 'requestReturnToShelf')?.args).toMatchObject({ unpack: true });
        expect(fakes.charged()).toBe(0);
      },
      'order-cancelled-late',
    );
  });

  it('refuses a late cancel from a service once the free-cancel window is over, changing nothing', async () => {
    await withOrder({ warehouse: 'silent' }, {}, async (handle, fakes) => {
      await env.sleep('1h');
      await expect(
        handle.executeUpdate(cancelOrderUpdate, { args: [{ reason: 'too late', requestedBy: service }] }),
      ).rejects.toMatchObject({
        cause: { type: 'CancellationNotAllowed' },
      });
      expect((await handle.query(orderViewQuery)).status).toBe('processing');
      expect(fakes.names()).not.toContain('refundPayment');
    });
  });

  it('finishes a label purchase in flight when a cancel arrives, then voids the label', async () => {
    await withOrder({ slow: { buyLabel: 1500 } }, {}, async (handle, fakes) => {
      await waitForStatus(handle, 'processing', '10m');
      while (!fakes.names().includes('buyLabel')) await new Promise((resolve) => setTimeout(resolve, 20));
      const view = await handle.executeUpdate(cancelOrderUpdate, {
        args: [{ reason: 'fraud suspected', requestedBy: support }],
      });
      expect(view.status).toBe('cancelled');
      expect(view.shipments).toMatchObject([{ status: 'cancelled', trackingNumber: null }]);
      expect(fakes.names()).toContain('voidLabel');
      expect(fakes.names()).not.toContain('handOverToCarrier');
      expect(view.timeline.at(-1)?.detail).toMatch(/voided label PP/);
      expect(fakes.charged()).toBe(0);
    });
  });

  it('refuses to cancel an order that has shipped: a return is the way', async () => {
    await withOrder({ carrierScans: [] }, {}, async (handle) => {
      await waitForStatus(handle, 'shipped', '10m');
      await expect(
        handle.executeUpdate(cancelOrderUpdate, { args: [{ reason: 'late', requestedBy: support }] }),
      ).rejects.toMatchObject({
        cause: { type: 'AlreadyShipped', message: expect.stringMatching(/return is possible after delivery/) },
      });
      expect((await handle.query(orderViewQuery)).status).toBe('shipped');
    });
  });

  it('treats a second cancel as harmless, and refuses one after the order is closed', async () => {
    await withOrder({}, {}, async (handle, fakes) => {
      await env.sleep('5m');
      const cancel = () =>
        handle.executeUpdate(cancelOrderUpdate, { args: [{ reason: 'twice', requestedBy: service }] });
      const [first, second] = await Promise.all([cancel(), cancel()]);
      expect([first.status, second.status]).toEqual(['cancelled', 'cancelled']);
      expect(fakes.names().filter((name) => name === 'voidUncaptured')).toHaveLength(1);
      // The workflow has closed: there is nothing left to take an update (the API answers 409 from the read model).
      await expect(cancel()).rejects.toThrow();
    });
  });
});

describe('order workflow: failures', () => {
  it('rejects an order no warehouse can ship whole when the policy says so, charging nothing', async () => {
    const { view, fakes } = await runOrder({ stockAvailable: false }, { backorderPolicy: 'reject' });
    expect(view.status).toBe('rejected');
    expect(fakes.names()).not.toContain('authorizePayment');
    expect(fakes.notifications).toEqual(['rejected']);
  });

  it('releases the reserved stock and closes the order when the card is declined', async () => {
    const { view, fakes } = await runOrder({}, { payment: { token: 'tok_decline' } }, 'order-payment-declined');
    expect(view.status).toBe('payment_failed');
    expect(view.payment.status).toBe('declined');
    expect(fakes.names()).toEqual(expect.arrayContaining(['reserveShipments', 'authorizePayment', 'releaseStock']));
    expect(fakes.names()).not.toContain('capturePayment');
    expect(fakes.notifications).toEqual(['payment_failed']);
  });

  it('rides out transient failures with retries, and charges once', async () => {
    const { view, fakes } = await runOrder({ failing: { capturePayment: 3, buyLabel: 2 } });
    expect(view.status).toBe('completed');
    expect(fakes.names().filter((name) => name === 'capturePayment')).toHaveLength(4);
    expect(fakes.charged()).toBe(view.totals!.total);
    expect(timelineTypes(view)).not.toContain('needs_attention');
  });

  it('parks a step that keeps failing in needs_attention, and an operator retry resumes it', async () => {
    await withOrder(
      { failing: { buyLabel: 1000 } },
      {},
      async (handle, fakes) => {
        const parked = await waitForStatus(handle, 'needs_attention', '10m');
        expect(parked.attention).toMatch(/buy the label keeps failing: buyLabel: simulated outage/);
        expect(fakes.names().filter((name) => name === 'buyLabel')).toHaveLength(10);
        await expect(
          handle.executeUpdate(cancelOrderUpdate, { args: [{ reason: 'x', requestedBy: service }] }),
        ).rejects.toMatchObject({
          cause: { type: 'CancellationNotAllowed' },
        });

        fakes.world.failing.buyLabel = 0;
        const resumed = await handle.executeUpdate(retryUpdate, { args: [{ requestedBy: support }] });
        expect(resumed.attention).toBeNull();
        const view = await handle.result();
        expect(view.status).toBe('completed');
        expect(timelineTypes(view)).toEqual(
          expect.arrayContaining(['needs_attention', 'step_retried', 'label_created']),
        );
        await expect(handle.executeUpdate(retryUpdate, { args: [{ requestedBy: support }] })).rejects.toThrow();
      },
      'order-parked-and-retried',
    );
  });

  it('takes back the milestone a payment step carries when the step keeps failing: parked with nothing captured, captured on retry', async () => {
    await withOrder({ failing: { capturePayment: 1000 } }, {}, async (handle, fakes) => {
      const parked = await waitForStatus(handle, 'needs_attention', '10m');
      expect(parked.attention).toMatch(/capture shipment 1 keeps failing/);
      expect(parked.payment).toMatchObject({ status: 'authorized', captured: 0 });
      expect(timelineTypes(parked)).not.toContain('payment_captured');
      // The read model has the park, and never had the capture the step would have written.
      expect(fakes.snapshots.at(-1)).toMatchObject({ status: 'needs_attention', payment: { captured: 0 } });
      expect(fakes.snapshots.flatMap((s) => s.timeline.map((e) => e.type))).not.toContain('payment_captured');

      fakes.world.failing.capturePayment = 0;
      await handle.executeUpdate(retryUpdate, { args: [{ requestedBy: support }] });
      const view = await handle.result();
      expect(view.status).toBe('completed');
      expect(timelineTypes(view)).toEqual(
        expect.arrayContaining(['needs_attention', 'step_retried', 'payment_captured']),
      );
      expect(fakes.charged()).toBe(view.totals!.total);
      expect(fakes.snapshots.at(-1)?.timeline.filter((e) => e.type === 'payment_captured')).toHaveLength(1);
    });
  });

  it('asks the warehouse again after each missed pick SLA, then parks the order until the pick arrives', async () => {
    await withOrder({ warehouse: 'silent' }, {}, async (handle, fakes) => {
      // 30 minutes of buffer, then three 4-hour attempts.
      await env.sleep('13h');
      const parked = await handle.query(orderViewQuery);
      expect(parked.status).toBe('needs_attention');
      expect(parked.attention).toMatch(/did not complete the pick after 3 attempts/);
      expect(fakes.names().filter((name) => name === 'requestPick')).toHaveLength(3);
      expect(timelineTypes(parked).filter((type) => type === 'pick_late')).toHaveLength(3);

      // The warehouse finally reports the second attempt done (to the order, which passes it to its shipment):
      // the order moves on by itself.
      const secondPick = fakes.calls.filter((c) => c.name === 'requestPick')[1]!.args as { taskId: string };
      expect(secondPick.taskId).toBe(`${parked.orderId}-1-pick-2`);
      await handle.signal(warehouseEventSignal, {
        taskId: secondPick.taskId,
        orderId: parked.orderId,
        type: 'pick_completed',
        at: new Date(await env.currentTimeMs()).toISOString(),
      });
      await env.sleep('1m');
      const resumed = await handle.query(orderViewQuery);
      expect(resumed.attention).toBeNull();
      expect(timelineTypes(resumed)).toEqual(expect.arrayContaining(['step_resumed', 'picked']));
    });
  });

  it('keeps each warehouse SLA its own length while one timer serves them (Patch.SharedTimerAndWrites)', async () => {
    await withOrder(
      { warehouse: 'silent' },
      {},
      async (handle, fakes) => {
        // 30 minutes of buffer, then the pick asked for: its SLA (and the shipment's one timer) ends at 4 h 30 min.
        await env.sleep('4h');
        const { orderId } = await handle.query(orderViewQuery);
        await handle.signal(warehouseEventSignal, {
          taskId: `${orderId}-1-pick-1`,
          orderId,
          type: 'pick_completed',
          at: new Date(await env.currentTimeMs()).toISOString(),
        });
        // The timer has fired meanwhile; the pack, asked for at 4 h, still has an hour of its SLA.
        await env.sleep('3h');
        const packing = await handle.query(orderViewQuery);
        expect(timelineTypes(packing)).toContain('picked');
        expect(timelineTypes(packing)).not.toContain('pick_late');
        expect(timelineTypes(packing)).not.toContain('pack_late');
        // The pick's milestone reached the read model with the pack's request, before the wait.
        expect(fakes.snapshots.at(-1)?.timeline.map((e) => e.type)).toContain('picked');
        // The pack's request carried that write itself: no local write of its own before the wait.
        const packRequest = (await handle.fetchHistory()).events!.find(
          (e) => e.activityTaskScheduledEventAttributes?.activityType?.name === 'recordPickAndRequestPack',
        );
        const [input] = packRequest!.activityTaskScheduledEventAttributes!.input!.payloads!;
        const carried = defaultPayloadConverter.fromPayload<{ readModel?: { view: OrderView } }>(input!);
        expect(carried.readModel?.view.timeline.map((e) => e.type)).toContain('picked');

        await env.sleep('90m');
        const late = await handle.query(orderViewQuery);
        const at = (type: string) => Date.parse(late.timeline.find((e) => e.type === type)!.at);
        expect(at('pack_late') - at('picked')).toBeGreaterThanOrEqual(4 * 3600_000);
        expect(fakes.names().filter((name) => name === 'requestPack')).toHaveLength(2);
      },
      'order-pack-late-on-one-timer',
    );
  });

  it('asks for a new pack when the scale disagrees with the expected weight', async () => {
    const { view, fakes } = await runOrder({ warehouse: 'wrong-weight-once' }, {}, 'order-repacked');
    expect(view.status).toBe('completed');
    expect(fakes.names().filter((name) => name === 'requestPack')).toHaveLength(2);
    expect(timelineTypes(view)).toContain('pack_rejected');
  });

  it('re-reserves elsewhere after a short pick, writing off the missing units', async () => {
    const { view, fakes } = await runOrder(
      { shortPickOnce: { sku: 'MUG-CERAMIC', quantity: 1 } },
      {},
      'order-short-pick',
    );
    expect(view.status).toBe('completed');
    expect(view.shipments).toMatchObject([{ warehouseId: 'wh-west' }]);
    expect(fakes.names()).toEqual(expect.arrayContaining(['recordShortPick', 'releaseStock']));
    // The plan reserved round 1; the short shipment reserves its round 2 itself.
    expect(fakes.names().filter((name) => name === 'reserveShipments')).toHaveLength(1);
    expect(fakes.calls.filter((c) => c.name === 'reserveStock').map((c) => c.args)).toMatchObject([
      { shipment: 1, round: 2 },
    ]);
    expect(timelineTypes(view)).toEqual(expect.arrayContaining(['short_pick', 'stock_reserved', 'picked']));
    expect(fakes.charged()).toBe(view.totals!.total);
  });
});

describe('order workflow: backorders', () => {
  it('waits for a restock when no warehouse can ship, then carries on when stock arrives', async () => {
    await withOrder(
      { stockAvailable: false },
      {},
      async (handle, fakes) => {
        const waiting = await waitForStatus(handle, 'backordered', '1h');
        expect(fakes.notifications).toEqual(['backordered']);
        expect(fakes.names()).not.toContain('authorizePayment');
        expect(waiting.timeline.at(-1)?.detail).toMatch(/waiting for stock until/);

        await env.sleep('3d');
        fakes.world.stockAvailable = true;
        await handle.signal(stockArrivedSignal, { sku: 'MUG-CERAMIC', warehouseId: 'wh-east' });
        const view = await handle.result();
        expect(view.status).toBe('completed');
        expect(fakes.charged()).toBe(view.totals!.total);
      },
      'order-backordered',
    );
  });

  it('cancels a backorder nobody restocked by the deadline, with nothing charged', async () => {
    const { view, fakes } = await runOrder({ stockAvailable: false });
    expect(view.status).toBe('cancelled');
    expect(timelineTypes(view).at(-1)).toBe('backorder_expired');
    expect(eventAt(view, 'backorder_expired') - eventAt(view, 'backordered')).toBeGreaterThanOrEqual(durationMs('7d'));
    expect(fakes.names()).not.toContain('authorizePayment');
    expect(fakes.notifications).toEqual(['backordered', 'backorder_expired']);
  });
});

describe('order workflow: after the label', () => {
  it('opens a delivery exception when the promise passes, tells the customer first, and a late delivery still closes it', async () => {
    const { view, fakes } = await withOrder({ carrierScans: ['in_transit'] }, {}, async (handle, fakes) => {
      // Standard ground promises 5 business days; 2 days of grace on top.
      const late = await waitForStatus(handle, 'delivery_exception', '1d', 20);
      expect(late.attention).toMatch(/not delivered by the promised/);
      expect(fakes.notifications).toContain('delayed');
      expect(fakes.names()).toContain('openCarrierTrace');
      await fakes.carrierSignal(late.shipments[0]!.trackingNumber!, 'delivered');
      return { view: await handle.result(), fakes };
    });
    expect(view.status).toBe('completed');
    expect(view.attention).toBeNull();
    expect(timelineTypes(view)).toEqual(
      expect.arrayContaining(['delivery_exception', 'delivery_exception_closed', 'delivered']),
    );
    expect(fakes.charged()).toBe(view.totals!.total);
  });

  it('reships from stock when the parcel stays lost, charging nothing more', async () => {
    const { view, fakes } = await runOrder({ firstParcelScans: ['in_transit'] }, {}, 'order-reshipped');
    expect(view.status).toBe('completed');
    // The reship is the shipment's second label (number 1001: labels are numbered per shipment).
    expect(view.shipments).toMatchObject([
      { shipmentId: `${view.orderId}-1`, trackingNumber: `PP1001-${view.orderId}` },
    ]);
    expect(timelineTypes(view)).toEqual(
      expect.arrayContaining(['delivery_exception', 'parcel_lost', 'reship_started', 'delivered']),
    );
    // The plan reserved round 1; the reship reserves the shipment's round 2 itself.
    expect(fakes.names().filter((name) => name === 'reserveShipments')).toHaveLength(1);
    expect(fakes.calls.filter((c) => c.name === 'reserveStock').map((c) => c.args)).toMatchObject([
      { shipment: 1, round: 2 },
    ]);
    // Labels are numbered per shipment: shipment 1's reship is label 1001.
    expect(
      fakes.calls
        .filter((c) => c.name === 'buyLabel')
        .map((c) => (c.args as { shipmentNumber: number }).shipmentNumber),
    ).toEqual([1, 1001]);
    // The reship is picked and packed anew, under task IDs of its own: the first parcel's answers do not count.
    const tasks = (name: string) =>
      fakes.calls.filter((c) => c.name === name).map((c) => (c.args as { taskId: string }).taskId);
    expect(tasks('requestPick')).toEqual([`${view.orderId}-1-pick-1`, `${view.orderId}-1-pick-2`]);
    expect(tasks('requestPack')).toEqual([`${view.orderId}-1-pack-1`, `${view.orderId}-1-pack-2`]);
    expect(view.attention).toBeNull();
    expect(fakes.notifications).toEqual(expect.arrayContaining(['delayed', 'reshipped']));
    expect(fakes.charged()).toBe(view.totals!.total);
  });

  it('refunds, and releases what it held, when a reship finds no stock before the backorder deadline', async () => {
    await withOrder({ firstParcelScans: ['in_transit'] }, {}, async (handle, fakes) => {
      await waitForStatus(handle, 'delivery_exception', '1d', 20);
      fakes.world.stockAvailable = false;
      const view = await handle.result();
      expect(view.status).toBe('cancelled');
      expect(timelineTypes(view)).toEqual(
        expect.arrayContaining(['parcel_lost', 'reship_started', 'backordered', 'backorder_expired']),
      );
      expect(callsAfter(fakes, 'notifyCustomer').filter((name) => name === 'releaseStock').length).toBeGreaterThan(0);
      expect(fakes.charged()).toBe(0);
      expect(fakes.notifications.at(-1)).toBe('backorder_expired');
    });
  });

  it('refunds a lost parcel when the policy says refund', async () => {
    const { view, fakes } = await withOrder(
      { carrierScans: ['in_transit'] },
      {},
      async (handle, fakes) => ({ view: await handle.result(), fakes }),
      undefined,
      { deliveryExceptionPolicy: 'refund' },
    );
    expect(view.status).toBe('cancelled');
    expect(timelineTypes(view).at(-1)).toBe('parcel_lost_refunded');
    expect(view.payment).toMatchObject({ status: 'refunded', refunded: view.totals!.total });
    expect(fakes.charged()).toBe(0);
    expect(fakes.names()).not.toContain('returnPickedToShelf');
  });

  it('sends the parcel back after the last failed attempt, and refunds everything when it arrives', async () => {
    const { view, fakes } = await runOrder({
      carrierScans: ['in_transit', 'delivery_failed', 'delivery_failed', 'delivery_failed'],
    });
    expect(view.status).toBe('returned');
    expect(view.deliveryAttempts).toBe(3);
    expect(view.returns).toHaveLength(1);
    expect(view.returns[0]).toMatchObject({
      reason: 'returned_to_sender',
      status: 'refunded',
      refunded: view.totals!.total,
    });
    expect(fakes.names()).toContain('restockReturnedUnits');
    expect(fakes.notifications.filter((kind) => kind === 'delivery_failed')).toHaveLength(2);
    expect(fakes.charged()).toBe(0);
  });

  it('takes returns inside the window: resalable units back on the shelf, damaged written off, refunds with shipping only for seller faults', async () => {
    await withOrder(
      { returnsArrive: 'one-damaged' },
      {},
      async (handle, fakes) => {
        await waitForStatus(handle, 'delivered', '1h');
        const first = await handle.executeUpdate(requestReturnUpdate, {
          args: [
            {
              items: [{ sku: 'MUG-CERAMIC', quantity: 2 }],
              reason: 'damaged',
              comment: 'arrived chipped',
              requestedBy: service,
            },
          ],
        });
        expect(first).toMatchObject({
          returnId: `${first.returnId}`,
          status: 'authorized',
          returnLabel: { carrier: 'parcelpost' },
        });
        expect(Date.parse(first.expiresAt) - Date.parse(first.createdAt)).toBe(durationMs('14d'));
        await env.sleep('1h');
        // Two mugs came back, one damaged: both refunded, plus shipping (the seller's fault).
        const afterFirst = await handle.query(orderViewQuery);
        expect(afterFirst.returns[0]).toMatchObject({ status: 'refunded', refunded: 2 * 1400 + 699 });
        expect(afterFirst.returns[0]!.units).toEqual([
          { sku: 'MUG-CERAMIC', quantity: 1, condition: 'damaged' },
          { sku: 'MUG-CERAMIC', quantity: 1, condition: 'resalable' },
        ]);
        await expect(
          handle.executeUpdate(requestReturnUpdate, {
            args: [{ items: [{ sku: 'MUG-CERAMIC', quantity: 1 }], reason: 'other', requestedBy: service }],
          }),
        ).rejects.toMatchObject({
          cause: { type: 'ReturnNotAllowed', message: expect.stringMatching(/only 0 × MUG-CERAMIC/) },
        });

        // A second return on the same order, not the seller's fault: no shipping back.
        fakes.world.returnsArrive = 'resalable';
        const second = await handle.executeUpdate(requestReturnUpdate, {
          args: [{ items: [{ sku: 'BOOK-TEMPORAL', quantity: 1 }], reason: 'no_longer_needed', requestedBy: service }],
        });
        expect(second.returnId).not.toBe(first.returnId);
        const view = await handle.result();
        expect(view.returns.map((ret) => [ret.status, ret.refunded])).toEqual([
          ['refunded', 3499],
          ['refunded', 3600],
        ]);
        // Every unit came back: the order ends returned, everything but nothing more refunded.
        expect(view.status).toBe('returned');
        expect(fakes.charged()).toBe(view.totals!.total - 3499 - 3600);
        expect(fakes.calls.filter((c) => c.name === 'restockReturnedUnits')).toHaveLength(2);
        // Everything came back before the feedback request was due: the customer is not asked.
        expect(fakes.notifications).toContain('refund_issued');
        expect(fakes.notifications).not.toContain('feedback_request');
      },
      'order-returned',
    );
  });

  it("does not refund twice when an expired return's parcel turns up after a new return took its units", async () => {
    await withOrder({ returnsArrive: 'never' }, {}, async (handle, fakes) => {
      await waitForStatus(handle, 'delivered', '1h');
      const mug = [{ sku: 'MUG-CERAMIC', quantity: 2 }];
      const first = await handle.executeUpdate(requestReturnUpdate, {
        args: [{ items: mug, reason: 'size_or_fit', requestedBy: service }],
      });
      await env.sleep('15d');
      const second = await handle.executeUpdate(requestReturnUpdate, {
        args: [{ items: mug, reason: 'size_or_fit', requestedBy: service }],
      });
      const units = [{ sku: 'MUG-CERAMIC', quantity: 2, condition: 'resalable' as const }];
      await handle.signal(returnReceivedSignal, { returnId: second.returnId, units });
      await handle.signal(returnReceivedSignal, { returnId: first.returnId, units });
      const view = await handle.result();
      expect(view.returns.map((ret) => [ret.returnId, ret.refunded])).toEqual([
        [first.returnId, 0],
        [second.returnId, 2 * 1400],
      ]);
      expect(fakes.charged()).toBe(view.totals!.total - 2 * 1400);
    });
  });

  it('refuses a return before delivery and after the window, and lets an unanswered authorization expire', async () => {
    await withOrder({ returnsArrive: 'never', carrierScans: [] }, {}, async (handle, fakes) => {
      await waitForStatus(handle, 'shipped', '1h');
      const early = handle.executeUpdate(requestReturnUpdate, {
        args: [{ items: [{ sku: 'MUG-CERAMIC', quantity: 1 }], reason: 'other', requestedBy: service }],
      });
      await expect(early).rejects.toMatchObject({ cause: { type: 'ReturnNotAllowed' } });
      await fakes.carrierSignal((await handle.query(orderViewQuery)).shipments[0]!.trackingNumber!, 'delivered');
      await waitForStatus(handle, 'delivered', '1m');

      const ret = await handle.executeUpdate(requestReturnUpdate, {
        args: [{ items: [{ sku: 'MUG-CERAMIC', quantity: 1 }], reason: 'size_or_fit', requestedBy: service }],
      });
      await env.sleep('15d');
      const expired = await handle.query(orderViewQuery);
      expect(expired.returns.find((r) => r.returnId === ret.returnId)?.status).toBe('expired');
      expect(fakes.notifications).toContain('return_expired');

      await env.sleep('16d');
      const view = await handle.result();
      expect(view.status).toBe('completed');
      expect(fakes.charged()).toBe(view.totals!.total);
      await expect(
        handle.executeUpdate(requestReturnUpdate, {
          args: [{ items: [{ sku: 'MUG-CERAMIC', quantity: 1 }], reason: 'other', requestedBy: service }],
        }),
      ).rejects.toThrow();
    });
  });
});

/** Polls the order's view (workflow time moving `step` between looks) until `test` holds. */
async function waitForView(
  handle: Handle,
  test: (view: OrderView) => boolean,
  step: Duration = '1m',
  limit = 200,
): Promise<OrderView> {
  for (let i = 0; i < limit; i++) {
    const view = await handle.query(orderViewQuery);
    if (test(view)) return view;
    await env.sleep(step);
  }
  throw new Error('the order never got there');
}

/** Awaits `promise` while workflow time moves on (only a result wait skips time by itself). */
async function whileTimePasses<T>(promise: Promise<T>, step: Duration = '1m'): Promise<T> {
  let settled = false;
  const watched = promise.finally(() => (settled = true));
  while (!settled) await Promise.race([watched.catch(() => {}), env.sleep(step)]);
  return watched;
}

describe('order workflow: Cancel in Temporal Web', () => {
  it('treats an operator Cancel in the buffer as an admin cancel: authorization voided, stock released, the run Canceled', async () => {
    await withOrder(
      {},
      {},
      async (handle, fakes) => {
        await waitForStatus(handle, 'confirmed', '1m');
        await handle.cancel();
        await expect(handle.result()).rejects.toMatchObject({ cause: { name: 'CancelledFailure' } });
        expect((await handle.describe()).status.name).toBe('CANCELLED');
        const view = await handle.query(orderViewQuery);
        expect(view.status).toBe('cancelled');
        expect(view.cancellation).toEqual({
          reason: 'cancelled in Temporal Web',
          requestedBy: 'temporal-operator',
          free: true,
        });
        expect(fakes.ledger.map((entry) => entry.kind)).toEqual(['authorize', 'void']);
        expect(fakes.names()).toContain('releaseStock');
        expect(fakes.snapshots.at(-1)?.status).toBe('cancelled');
        expect(fakes.notifications.at(-1)).toBe('cancelled');
      },
      'order-cancelled-in-temporal-web',
    );
  });

  it('undoes a picked order cancelled in Temporal Web: refund, withdraw the tasks, re-shelve, release', async () => {
    await withOrder({ warehouse: 'pick-only' }, {}, async (handle, fakes) => {
      await waitForStatus(handle, 'processing', '10m');
      await env.sleep('30m');
      expect(fakes.names()).toContain('requestPack');
      await handle.cancel();
      await expect(handle.result()).rejects.toMatchObject({ cause: { name: 'CancelledFailure' } });
      const undos = callsAfter(fakes, 'requestPack').filter((name) => name !== 'notifyCustomer');
      expect(undos).toEqual([
        // The shipment's undos (money first), then the order's: the rest of the authorization, the rest of the stock.
        'refundPayment',
        'cancelWarehouseTask',
        'cancelWarehouseTask',
        'requestReturnToShelf',
        'returnPickedToShelf',
        'releaseStock',
        'voidUncaptured',
        'releaseStock',
      ]);
      expect(fakes.charged()).toBe(0);
      expect((await handle.query(orderViewQuery)).cancellation).toMatchObject({
        requestedBy: 'temporal-operator',
        free: false,
      });
    });
  });

  it('refuses an operator Cancel once the parcel has shipped: the refusal is on the timeline and the order carries on', async () => {
    await withOrder(
      { carrierScans: [] },
      {},
      async (handle, fakes) => {
        const shipped = await waitForStatus(handle, 'shipped', '10m');
        await handle.cancel();
        const noted = await waitForView(handle, (view) =>
          view.timeline.some((event) => event.type === 'cancel_refused'),
        );
        expect(noted.timeline.find((event) => event.type === 'cancel_refused')?.detail).toMatch(/has shipped/);
        await fakes.carrierSignal(shipped.shipments[0]!.trackingNumber!, 'delivered');
        const view = await handle.result();
        expect(view.status).toBe('completed');
        expect(fakes.charged()).toBe(view.totals!.total);
      },
      'order-cancel-refused-in-temporal-web',
    );
  });
});

describe('order workflow: undos', () => {
  it('refunds even when the carrier will not void the label; the failed undo parks the order until an operator retries it', async () => {
    await withOrder(
      { slow: { buyLabel: 1500 }, failing: { voidLabel: 1000 } },
      {},
      async (handle, fakes) => {
        await waitForStatus(handle, 'processing', '10m');
        while (!fakes.names().includes('buyLabel')) await new Promise((resolve) => setTimeout(resolve, 20));
        const answering = handle.executeUpdate(cancelOrderUpdate, {
          args: [{ reason: 'fraud suspected', requestedBy: support }],
        });
        // Workflow time moves on while the label void keeps failing (only a result wait skips it by itself).
        await waitForView(handle, (view) => view.status === 'needs_attention');
        const answer = await answering;
        // The caller hears when the undos have run: the money is back, one undo needs a human.
        expect(answer.status).toBe('needs_attention');
        expect(answer.attention).toMatch(/could not undo: void the label: voidLabel: simulated outage/);
        expect(fakes.charged()).toBe(0);
        expect(fakes.names()).toEqual(
          expect.arrayContaining(['refundPayment', 'requestReturnToShelf', 'returnPickedToShelf', 'releaseStock']),
        );
        expect(fakes.names().filter((name) => name === 'voidLabel')).toHaveLength(10);

        fakes.world.failing.voidLabel = 0;
        await handle.executeUpdate(retryUpdate, { args: [{ requestedBy: support }] });
        const view = await handle.result();
        expect(view.status).toBe('cancelled');
        expect(view.attention).toBeNull();
        expect(timelineTypes(view)).toEqual(
          expect.arrayContaining(['needs_attention', 'undo_retried', 'order_cancelled']),
        );
        expect(view.timeline.at(-1)?.detail).toMatch(/voided label PP/);
        // Each undo ran once more only if it had failed: the refund was not asked for twice.
        expect(fakes.names().filter((name) => name === 'refundPayment')).toHaveLength(1);
      },
      'order-undo-parked-and-retried',
    );
  });
});

describe('order workflow: restocks are never lost', () => {
  it('takes a restock signalled while the order is being listed as backordered', async () => {
    let signalled = false;
    const onRecord = async (view: OrderView, world: FakeWorld) => {
      if (view.status !== 'backordered' || signalled) return;
      signalled = true;
      world.stockAvailable = true;
      await env.client.workflow
        .getHandle(orderWorkflowId(view.orderId))
        .signal(stockArrivedSignal, { sku: 'MUG-CERAMIC', warehouseId: 'wh-east' });
    };
    // No retry timer to fall back on: only the signal can wake the order.
    await withOrder(
      { stockAvailable: false, onRecord },
      {},
      async (handle, fakes) => {
        const view = await waitForView(handle, (v) => v.status === 'confirmed', '1m');
        expect(signalled).toBe(true);
        expect(eventAt(view, 'stock_reserved') - eventAt(view, 'backordered')).toBeLessThan(durationMs('1h'));
        expect(fakes.calls.filter((c) => c.name === 'reserveShipments')).toHaveLength(2);
      },
      'order-restock-during-backorder',
      { backorderRetryInterval: '30d' },
    );
  });

  it('finds a restock nobody signalled by trying the reservation again every hour', async () => {
    await withOrder(
      { stockAvailable: false },
      {},
      async (handle, fakes) => {
        await waitForStatus(handle, 'backordered', '1m');
        await env.sleep('2h');
        expect(fakes.calls.filter((c) => c.name === 'reserveShipments')).toHaveLength(3);
        fakes.world.stockAvailable = true;
        const view = await waitForView(
          handle,
          (v) => v.timeline.some((event) => event.type === 'order_confirmed'),
          '10m',
        );
        expect(eventAt(view, 'stock_reserved') - eventAt(view, 'backordered')).toBeLessThan(
          durationMs('3h') + durationMs('1m'),
        );
        expect(fakes.notifications.slice(0, 2)).toEqual(['backordered', 'confirmation']);
      },
      'order-restock-found-by-timer',
    );
  });
});

describe('order workflow: warehouse answers and return labels', () => {
  it('asks for a new pack at once when the scale disagrees, not after the 4-hour SLA', async () => {
    const { view, fakes } = await runOrder({ warehouse: 'wrong-weight-once' }, {}, 'order-repacked-at-once');
    expect(view.status).toBe('completed');
    expect(fakes.names().filter((name) => name === 'requestPack')).toHaveLength(2);
    expect(eventAt(view, 'pack_rejected') - eventAt(view, 'picked')).toBeLessThan(durationMs('1m'));
  });

  it('gives the units back when no return label can be bought, so the customer can ask again', async () => {
    await withOrder(
      { failing: { buyReturnLabel: 10 } },
      {},
      async (handle) => {
        await waitForStatus(handle, 'delivered', '1h');
        const ask = () =>
          handle.executeUpdate(requestReturnUpdate, {
            args: [{ items: [{ sku: 'MUG-CERAMIC', quantity: 1 }], reason: 'other', requestedBy: service }],
          });
        await expect(whileTimePasses(ask())).rejects.toMatchObject({ cause: { type: 'ReturnLabelUnavailable' } });
        expect((await handle.query(orderViewQuery)).returns).toEqual([]);
        const second = await ask();
        expect(second).toMatchObject({
          returnId: `${second.returnId}`,
          status: 'authorized',
          returnLabel: { carrier: 'parcelpost' },
        });
        expect(second.returnId).toMatch(/-r1$/);
      },
      'order-return-label-unavailable',
    );
  });
});
