import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkInvariants } from '../db/invariants.js';
import type { OrderPolicy, OrderView } from '../domain/order.js';
import { isolatedProduct, stockOf } from './support/database.js';
import { orderRequest, PRODUCTION_POLICY } from './support/orders.js';
import { startSystem, type System } from './support/system.js';

/**
 * Returns through the HTTP endpoints with the simulators on: the customer's parcel and the
 * warehouse's receipt are played through `POST /warehouse/returns/:returnId/receipt`, as a real
 * warehouse would report them.
 */
let system: System;

const policy: OrderPolicy = {
  ...PRODUCTION_POLICY,
  cancellationBuffer: '1s',
  returnWindow: '8s',
  warehouseTaskSla: '1m',
};

beforeAll(async () => {
  system = await startSystem({ policy });
});

afterAll(async () => {
  await system?.stop();
});

describe('returns end to end', () => {
  it('delivers, takes two returns, restocks the resalable units, refunds, and ends returned with the ledger right', async () => {
    const sku = await isolatedProduct(system.db, { 'wh-east': 10 }, 2000);
    const order = orderRequest({ items: [{ sku, quantity: 2 }] });
    expect((await system.api('POST', '/orders', order)).status).toBe(202);
    const delivered = await system.waitForOrder(order.orderId, (status) => status === 'delivered');
    expect(await stockOf(system.db, sku)).toEqual({ 'wh-east': { onHand: 8, reserved: 0 } });

    const damaged = await system.api('POST', `/orders/${order.orderId}/returns`, {
      items: [{ sku, quantity: 1 }],
      reason: 'damaged',
      comment: 'cracked',
    });
    expect(damaged.status).toBe(201);
    expect(damaged.body).toMatchObject({
      status: 'authorized',
      reason: 'damaged',
      returnLabel: { carrier: 'parcelpost' },
    });
    expect(damaged.body.returnLabel.trackingNumber).toMatch(/^PR\d+/);
    const tooMany = await system.api('POST', `/orders/${order.orderId}/returns`, {
      items: [{ sku, quantity: 2 }],
      reason: 'other',
    });
    expect(tooMany.status).toBe(409);

    const refunded = (view: OrderView, returnId: string) =>
      view.returns.find((ret) => ret.returnId === returnId)?.status === 'refunded';
    const afterFirst = await waitForView(order.orderId, (view) => refunded(view, damaged.body.returnId));
    // The item's price and, as the damage is the seller's fault, the shipping.
    expect(afterFirst.returns[0]!.refunded).toBe(2000 + delivered.totals!.shipping);
    expect(afterFirst.returns[0]!.units).toEqual([{ sku, quantity: 1, condition: 'resalable' }]);

    const second = await system.api('POST', `/orders/${order.orderId}/returns`, {
      items: [{ sku, quantity: 1 }],
      reason: 'no_longer_needed',
    });
    expect(second.status).toBe(201);
    const view = await system.waitForOrder(order.orderId, (status) => status === 'returned', 60_000);
    expect(view.returns.map((ret) => [ret.status, ret.refunded])).toEqual([
      ['refunded', 2000 + delivered.totals!.shipping],
      ['refunded', 2000],
    ]);
    expect(view.payment).toMatchObject({
      captured: delivered.totals!.total,
      refunded: 4000 + delivered.totals!.shipping,
    });
    // Both units are back on the shelf they left.
    expect(await stockOf(system.db, sku)).toEqual({ 'wh-east': { onHand: 10, reserved: 0 } });
    expect(await checkInvariants(system.db, { orderIds: [order.orderId] })).toEqual([]);

    const report = await system.api('GET', '/reports/returns');
    expect(report.status).toBe(200);
    expect(report.body.byReason).toEqual(
      expect.arrayContaining([expect.objectContaining({ reason: 'no_longer_needed' })]),
    );
    expect(report.body.bySku).toEqual(expect.arrayContaining([{ sku, units: 2, refunded: 4000 }]));

    const closed = await system.api('POST', `/orders/${order.orderId}/returns`, {
      items: [{ sku, quantity: 1 }],
      reason: 'other',
    });
    expect(closed.status).toBe(409);
    expect(
      (
        await system.api('POST', '/warehouse/returns/no-such-return/receipt', {
          units: [{ sku, quantity: 1, condition: 'resalable' }],
        })
      ).status,
    ).toBe(404);
  });
});

async function waitForView(
  orderId: string,
  done: (view: OrderView) => boolean,
  timeoutMs = 30_000,
): Promise<OrderView> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const { body } = await system.api('GET', `/orders/${orderId}`);
    if (body && done(body as OrderView)) return body as OrderView;
    if (Date.now() > deadline) throw new Error(`order ${orderId}: ${JSON.stringify(body?.returns)}`);
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}
