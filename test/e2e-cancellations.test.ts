import { eq, inArray } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkInvariants } from '../db/invariants.js';
import { payments } from '../db/schema.js';
import type { OrderPolicy, OrderView } from '../domain/order.js';
import { FINAL_STATUSES } from '../domain/statuses.js';
import { isolatedProduct, stockOf } from './support/database.js';
import { newOrderId, orderRequest, PRODUCTION_POLICY } from './support/orders.js';
import { startSystem, type System } from './support/system.js';

/**
 * Cancellations and scarcity on the whole system: real Temporal, real Postgres, the simulated
 * warehouse taking its time (a pick ~1.2 s, a pack ~0.6 s) so cancels land at every stage.
 * Afterwards the ledger invariants must hold for every order.
 */
let system: System;

const policy: OrderPolicy = {
  ...PRODUCTION_POLICY,
  cancellationBuffer: '1500ms',
  returnWindow: '2s',
  warehouseTaskSla: '1m',
};

beforeAll(async () => {
  system = await startSystem({ policy, warehouseDelayScale: 0.001, carrierDelayScale: 0 });
});

afterAll(async () => {
  await system?.stop();
});

const settled = (status: string) => (FINAL_STATUSES as readonly string[]).includes(status);

/** A small deterministic generator, so a failing run can be replayed from its seed. */
function random(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state * 1664525 + 1013904223) >>> 0;
    return state / 2 ** 32;
  };
}

describe('cancellations end to end', () => {
  it('leaves money and stock exactly right when orders are cancelled at random moments', async () => {
    const seed = Number(process.env.CANCEL_SEED ?? Date.now() % 100_000);
    const next = random(seed);
    const sku = await isolatedProduct(system.db, { 'wh-east': 100, 'wh-west': 100 }, 1250);
    const orders = Array.from({ length: 16 }, (_, i) =>
      orderRequest({ orderId: newOrderId(`rand${i}`), items: [{ sku, quantity: 1 + (i % 3) }] }),
    );

    const outcomes = await Promise.all(
      orders.map(async (order) => {
        expect((await system.api('POST', '/orders', order)).status).toBe(202);
        if (next() < 0.2) return { orderId: order.orderId, cancel: null };
        await new Promise((resolve) => setTimeout(resolve, next() * 5_000));
        const cancel = await system.api('POST', `/orders/${order.orderId}/cancel`, { reason: 'randomized test' });
        return { orderId: order.orderId, cancel };
      }),
    );

    for (const { orderId, cancel } of outcomes) {
      if (!cancel) continue;
      // Either it was cancelled, or it had shipped (or finished) first, and the API said so.
      if (cancel.status === 200) expect(cancel.body.status).toBe('cancelled');
      else expect(cancel.status, `${orderId} (seed ${seed}): ${JSON.stringify(cancel.body)}`).toBe(409);
    }
    const finals = await Promise.all(orders.map((order) => system.waitForOrder(order.orderId, settled)));
    const cancelled = finals.filter((view) => view.status === 'cancelled');
    const completed = finals.filter((view) => view.status === 'completed');
    expect(cancelled.length + completed.length, `seed ${seed}`).toBe(orders.length);
    const freeCancels = cancelled.filter((view) => view.cancellation?.free).length;
    console.info(
      `seed ${seed}: ${freeCancels} free cancels, ${cancelled.length - freeCancels} late cancels, ${completed.length} completed`,
    );
    expect(cancelled.length).toBeGreaterThan(0);

    expect(await checkInvariants(system.db, { orderIds: orders.map((o) => o.orderId) }), `seed ${seed}`).toEqual([]);
    const sold = completed.reduce((units, view) => units + view.items[0]!.quantity, 0);
    const levels = await stockOf(system.db, sku);
    expect(levels['wh-east']!.onHand + levels['wh-west']!.onHand, `seed ${seed}`).toBe(200 - sold);
    expect(levels['wh-east']!.reserved + levels['wh-west']!.reserved).toBe(0);
    // Cancelled orders owe nothing: every capture among them was refunded in full.
    const ledger = await system.db
      .select()
      .from(payments)
      .where(inArray(payments.orderId, cancelled.map((v) => v.orderId).concat(['-'])));
    const net = ledger.reduce(
      (sum, row) => sum + (row.kind === 'capture' ? row.amount : row.kind === 'refund' ? -row.amount : 0),
      0,
    );
    expect(net).toBe(0);
  });

  it('sells exactly the units there are when more orders than stock arrive at once; the rest backorder or are rejected', async () => {
    const sku = await isolatedProduct(system.db, { 'wh-east': 5 }, 990);
    const orders = Array.from({ length: 12 }, (_, i) =>
      orderRequest({
        orderId: newOrderId(`rush${i}`),
        items: [{ sku, quantity: 1 }],
        backorderPolicy: i % 2 ? 'wait' : 'reject',
      }),
    );
    const created = await Promise.all(orders.map((order) => system.api('POST', '/orders', order)));
    expect(created.map((r) => r.status)).toEqual(orders.map(() => 202));

    const placed = (status: string) => !['received'].includes(status);
    const views = await Promise.all(orders.map((order) => system.waitForOrder(order.orderId, placed)));
    const waiting = views.filter((view) => view.status === 'backordered');
    const rejected = views.filter((view) => view.status === 'rejected');
    expect(views.length - waiting.length - rejected.length).toBe(5);
    expect(rejected.every((view) => view.payment.status === 'pending')).toBe(true);

    // A restock of two units wakes the waiting orders; two of them get the units.
    const restock = await system.api('POST', '/inventory/adjustments', {
      warehouseId: 'wh-east',
      sku,
      delta: 2,
      reason: 'restock',
    });
    expect(restock.status).toBe(201);
    expect(restock.body.wokeOrders.length).toBe(waiting.length);
    const sellers = await Promise.all(
      views
        .filter((v) => v.status !== 'rejected')
        .map((view) => system.waitForOrder(view.orderId, (s) => s === 'completed' || s === 'backordered', 60_000)),
    );
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    const stillWaiting: OrderView[] = [];
    for (const view of sellers) {
      const now = (await system.api('GET', `/orders/${view.orderId}`)).body;
      if (now.status === 'backordered') stillWaiting.push(now);
    }
    const finished = await Promise.all(
      sellers
        .filter((v) => !stillWaiting.some((w) => w.orderId === v.orderId))
        .map((v) => system.waitForOrder(v.orderId, (s) => s === 'completed')),
    );
    expect(finished).toHaveLength(7);
    expect(stillWaiting).toHaveLength(waiting.length - 2);

    // The orders still waiting are cancelled, free: nothing was ever charged for them.
    for (const view of stillWaiting) {
      const cancel = await system.api('POST', `/orders/${view.orderId}/cancel`, { reason: 'customer gave up' });
      expect(cancel.status).toBe(200);
      expect(cancel.body.cancellation.free).toBe(true);
    }
    expect(await stockOf(system.db, sku)).toEqual({ 'wh-east': { onHand: 0, reserved: 0 } });
    expect(await checkInvariants(system.db, { orderIds: orders.map((o) => o.orderId) })).toEqual([]);
    const charged = await system.db.select().from(payments).where(eq(payments.kind, 'capture'));
    expect(charged.filter((row) => orders.some((o) => o.orderId === row.orderId))).toHaveLength(7);
  });

  it('answers the cancel endpoint with the right refusals', async () => {
    expect((await system.api('POST', '/orders/no-such-order/cancel', { reason: 'x' })).status).toBe(404);
    const order = orderRequest();
    await system.api('POST', '/orders', order);
    const bad = await system.api('POST', `/orders/${order.orderId}/cancel`, { reason: '', extra: 1 });
    expect(bad.status).toBe(400);
    expect(bad.body.errors.map((e: { field: string }) => e.field)).toEqual(expect.arrayContaining(['reason']));
    const done = await system.waitForOrder(order.orderId, settled);
    expect(done.status).toBe('completed');
    const late = await system.api('POST', `/orders/${order.orderId}/cancel`, { reason: 'too late' });
    expect(late.status).toBe(409);
    expect(late.type).toContain('application/problem+json');
    expect((await system.api('POST', `/orders/${order.orderId}/retry`)).status).toBe(409);
  });
});
