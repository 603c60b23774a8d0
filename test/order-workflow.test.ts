import { type TestWorkflowEnvironment } from '@temporalio/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { durationMs } from '../domain/durations.js';
import { orderWorkflowId } from '../domain/ids.js';
import { orderViewQuery, warehouseEventSignal } from '../domain/messages.js';
import type { OrderView } from '../domain/order.js';
import { orderWorkflow } from '../workflows/order.js';
import { fakeActivities, type FakeWorld } from './support/fake-activities.js';
import { orderRequest, workflowInput } from './support/orders.js';
import { timeSkippingEnvironment } from './support/temporal.js';
import { saveHistory } from './support/histories.js';
import { withWorker } from './support/workers.js';

let env: TestWorkflowEnvironment;

beforeAll(async () => {
  env = await timeSkippingEnvironment();
});

afterAll(async () => {
  await env?.teardown();
});

async function startOrder(taskQueue: string, overrides: Parameters<typeof orderRequest>[0] = {}) {
  const request = orderRequest(overrides);
  const receivedAt = new Date(await env.currentTimeMs()).toISOString();
  const handle = await env.client.workflow.start(orderWorkflow, {
    workflowId: orderWorkflowId(request.orderId),
    taskQueue,
    args: [workflowInput(request, receivedAt)],
  });
  return { request, handle, receivedAt };
}

function timelineTypes(view: OrderView): string[] {
  return view.timeline.map((event) => event.type);
}

function eventAt(view: OrderView, type: string): number {
  const event = view.timeline.find((e) => e.type === type);
  expect(event, `timeline has ${type}`).toBeDefined();
  return Date.parse(event!.at);
}

/**
 * Runs one order to its end. With RECORD_HISTORIES=1 its event history is saved for the replay
 * test (`test/replay.test.ts`), which proves later workflow code still replays it.
 */
async function runOrder(world: Partial<FakeWorld> = {}, overrides: Parameters<typeof orderRequest>[0] = {}, historyName?: string) {
  const fakes = fakeActivities(env, world);
  const view = await withWorker(env, fakes.activities, async (taskQueue) => {
    const { handle } = await startOrder(taskQueue, overrides);
    const result = await handle.result();
    if (historyName && process.env.RECORD_HISTORIES === '1') saveHistory(historyName, await handle.fetchHistory());
    return result;
  });
  return { view, fakes };
}

describe('order workflow', () => {
  it('takes an order from receipt to completed, through the 30-minute buffer and the 30-day return window', async () => {
    const { view, fakes } = await runOrder({}, {}, 'order-completed');

    expect(view.status).toBe('completed');
    expect(timelineTypes(view)).toEqual([
      'order_received',
      'stock_reserved',
      'order_confirmed',
      'payment_captured',
      'picked',
      'packed',
      'label_created',
      'shipped',
      'in_transit',
      'out_for_delivery',
      'delivered',
      'order_completed',
    ]);
    // Prices come from the catalog: 2 mugs at 14.00 and a book at 36.00, 1.4 kg standard shipping.
    expect(view.totals).toEqual({ subtotal: 6400, shipping: 699, total: 7099, currency: 'USD' });
    expect(view.payment).toEqual({ status: 'captured', authorized: 7099, captured: 7099, refunded: 0 });
    expect(view.shipment).toMatchObject({ carrier: 'parcelpost', status: 'delivered', box: 'S' });

    // Nothing is captured before the free-cancel buffer ends.
    expect(eventAt(view, 'payment_captured') - Date.parse(view.receivedAt)).toBeGreaterThanOrEqual(durationMs('30m'));
    expect(Date.parse(view.cancellableUntil) - Date.parse(view.receivedAt)).toBe(durationMs('30m'));
    // The return window runs 30 days from delivery, and the order completes when it closes.
    expect(Date.parse(view.returnableUntil!) - eventAt(view, 'delivered')).toBe(durationMs('30d'));
    expect(eventAt(view, 'order_completed')).toBeGreaterThanOrEqual(Date.parse(view.returnableUntil!));

    expect(fakes.notifications).toEqual(['confirmation', 'shipped', 'out_for_delivery', 'delivered']);
    expect(fakes.names().filter((name) => name === 'capturePayment')).toHaveLength(1);
    // Every status change reached the read model, ending with the final view.
    expect(fakes.snapshots.at(-1)?.status).toBe('completed');
  });

  it('shows the order as confirmed and cancellable during the buffer, before anything is captured', async () => {
    const fakes = fakeActivities(env);
    await withWorker(env, fakes.activities, async (taskQueue) => {
      const { handle, receivedAt } = await startOrder(taskQueue);
      await env.sleep('10m');
      const view = await handle.query(orderViewQuery);
      expect(view.status).toBe('confirmed');
      expect(view.cancellableUntil).toBe(new Date(Date.parse(receivedAt) + durationMs('30m')).toISOString());
      expect(view.payment.status).toBe('authorized');
      expect(fakes.names()).not.toContain('capturePayment');
      await handle.terminate('test done');
    });
  });

  it('rejects an order no warehouse can ship whole, and charges nothing', async () => {
    const { view, fakes } = await runOrder({ stockAvailable: false });
    expect(view.status).toBe('rejected');
    expect(fakes.names()).not.toContain('authorizePayment');
    expect(fakes.notifications).toEqual(['rejected']);
  });

  it('releases the reserved stock and closes the order when the card is declined', async () => {
    const { view, fakes } = await runOrder({}, { payment: { token: 'tok_decline' } }, 'order-payment-declined');
    expect(view.status).toBe('payment_failed');
    expect(view.payment.status).toBe('declined');
    expect(fakes.names()).toEqual(expect.arrayContaining(['reserveStock', 'authorizePayment', 'releaseStock']));
    expect(fakes.names()).not.toContain('capturePayment');
    expect(fakes.notifications).toEqual(['payment_failed']);
  });

  it('asks the warehouse again after each missed pick SLA, then parks the order in needs_attention until the pick arrives', async () => {
    const fakes = fakeActivities(env, { warehouse: 'silent' });
    await withWorker(env, fakes.activities, async (taskQueue) => {
      const { handle, request } = await startOrder(taskQueue);
      // 30 minutes of buffer, then three 4-hour attempts.
      await env.sleep('13h');
      const parked = await handle.query(orderViewQuery);
      expect(parked.status).toBe('needs_attention');
      expect(parked.attention).toMatch(/did not complete the pick after 3 attempts/);
      expect(fakes.names().filter((name) => name === 'requestPick')).toHaveLength(3);
      expect(timelineTypes(parked).filter((type) => type === 'pick_late')).toHaveLength(3);

      // The warehouse finally reports the second attempt done: the order moves on.
      await handle.signal(warehouseEventSignal, {
        taskId: `${request.orderId}-pick-2`,
        orderId: request.orderId,
        type: 'pick_completed',
        at: new Date(await env.currentTimeMs()).toISOString(),
      });
      await env.sleep('1m');
      const resumed = await handle.query(orderViewQuery);
      expect(resumed.attention).toBeNull();
      expect(timelineTypes(resumed)).toContain('pick_completed_late');
      expect(timelineTypes(resumed)).toContain('picked');
      await handle.terminate('test done');
    });
  });

  it('asks for a new pack when the scale disagrees with the expected weight', async () => {
    const { view, fakes } = await runOrder({ warehouse: 'wrong-weight-once' }, {}, 'order-repacked');
    expect(view.status).toBe('completed');
    expect(fakes.names().filter((name) => name === 'requestPack')).toHaveLength(2);
    expect(timelineTypes(view)).toContain('pack_rejected');
  });

  it('never moves an order backwards on late or repeated carrier scans', async () => {
    const { view } = await runOrder({ carrierScans: ['out_for_delivery', 'in_transit', 'out_for_delivery', 'delivered', 'delivered', 'in_transit'] });
    expect(view.status).toBe('completed');
    const types = timelineTypes(view);
    expect(types).not.toContain('in_transit');
    expect(types.filter((type) => type === 'out_for_delivery')).toHaveLength(1);
    expect(types.filter((type) => type === 'delivered')).toHaveLength(1);
  });

  it('tells the customer when the parcel misses its promise, and completes once it is delivered after all', async () => {
    const fakes = fakeActivities(env, { carrierScans: ['in_transit'] });
    const view = await withWorker(env, fakes.activities, async (taskQueue) => {
      const { handle } = await startOrder(taskQueue);
      // Standard ground promises 5 business days; 2 days of grace on top.
      await env.sleep('12d');
      const late = await handle.query(orderViewQuery);
      expect(late.status).toBe('needs_attention');
      expect(fakes.notifications).toContain('delayed');
      await fakes.carrierSignal(late.shipment!.trackingNumber, 'delivered');
      return handle.result();
    });
    expect(view.status).toBe('completed');
    expect(view.attention).toBeNull();
  });
});

