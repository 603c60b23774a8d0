import { eq, sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkInvariants } from '../db/invariants.js';
import { payments } from '../db/schema.js';
import { orderWorkflowId } from '../domain/ids.js';
import type { OrderPolicy } from '../domain/order.js';
import { FINAL_STATUSES } from '../domain/statuses.js';
import { isolatedProduct } from './support/database.js';
import { orderRequest, PRODUCTION_POLICY } from './support/orders.js';
import { startSystem, type System } from './support/system.js';

/**
 * The API contract on the whole system: who cancelled comes from the credential, the role decides
 * late cancels, racing cancels and returns on one order resolve cleanly (the workflow serializes
 * them), an Idempotency-Key replays the first answer, and a caller without a credential starts
 * nothing. Every answer is also checked against the OpenAPI document (test/support/system.ts).
 */
let system: System;

// A pick takes ~3.6 s and a pack ~1.8 s: time to act while an order is captured but not shipped.
const policy: OrderPolicy = {
  ...PRODUCTION_POLICY,
  cancellationBuffer: '1s',
  returnWindow: '1m',
  warehouseTaskSla: '1m',
};

beforeAll(async () => {
  system = await startSystem({ policy, warehouseDelayScale: 0.003, carrierDelayScale: 0 });
});

afterAll(async () => {
  await system?.stop();
});

const settled = (status: string) => (FINAL_STATUSES as readonly string[]).includes(status);

describe('the API contract end to end', () => {
  it('records who cancelled from the credential, not the body', async () => {
    const order = orderRequest();
    expect((await system.api('POST', '/orders', order, { as: 'service' })).status).toBe(202);
    const forged = await system.api(
      'POST',
      `/orders/${order.orderId}/cancel`,
      { reason: 'changed mind', requestedBy: 'admin' },
      { as: 'service' },
    );
    expect(forged.status).toBe(400);
    const cancel = await system.api(
      'POST',
      `/orders/${order.orderId}/cancel`,
      { reason: 'changed mind' },
      { as: 'service' },
    );
    expect(cancel.status).toBe(200);
    expect(cancel.body.cancellation).toEqual({ reason: 'changed mind', requestedBy: 'service-desk', free: true });
    expect(cancel.body.timeline.at(-1)).toMatchObject({ type: 'order_cancelled', status: 'cancelled' });
  });

  it('lets service cancel only before capture (403 after), and support later', async () => {
    const sku = await isolatedProduct(system.db, { 'wh-east': 5 });
    const order = orderRequest({ items: [{ sku, quantity: 1 }] });
    expect((await system.api('POST', '/orders', order, { as: 'service' })).status).toBe(202);
    await system.waitForOrder(order.orderId, (status) => status === 'processing');
    const refused = await system.api(
      'POST',
      `/orders/${order.orderId}/cancel`,
      { reason: 'too late for service' },
      { as: 'service' },
    );
    expect(refused.status).toBe(403);
    expect(refused.body.title).toBe('Cancellation not allowed');
    const warehouse = await system.api(
      'POST',
      `/orders/${order.orderId}/cancel`,
      { reason: 'not my job' },
      { as: 'warehouse' },
    );
    expect(warehouse.status).toBe(403);
    const late = await system.api(
      'POST',
      `/orders/${order.orderId}/cancel`,
      { reason: 'support cancels' },
      { as: 'support' },
    );
    expect(late.status).toBe(200);
    expect(late.body.cancellation).toEqual({ reason: 'support cancels', requestedBy: 'support-desk', free: false });
    expect(await checkInvariants(system.db, { orderIds: [order.orderId] })).toEqual([]);
  });

  it('resolves racing cancels on one order into one cancellation, every caller told the same', async () => {
    const order = orderRequest();
    expect((await system.api('POST', '/orders', order)).status).toBe(202);
    await system.waitForOrder(order.orderId, (status) => status === 'confirmed');
    const callers = ['service', 'support', 'admin', 'service', 'support', 'admin'] as const;
    const answers = await Promise.all(
      callers.map((as, i) => system.api('POST', `/orders/${order.orderId}/cancel`, { reason: `race ${i}` }, { as })),
    );
    const cancelled = answers.filter((answer) => answer.status === 200);
    expect(cancelled.length).toBeGreaterThan(0);
    // A cancel that arrives once the order is closed is told so; nothing else.
    for (const answer of answers.filter((a) => a.status !== 200)) expect(answer.body.title).toBe('Order is closed');
    expect(new Set(cancelled.map((answer) => JSON.stringify(answer.body.cancellation))).size).toBe(1);
    const final = await system.waitForOrder(order.orderId, settled);
    expect(final.status).toBe('cancelled');
    expect(final.timeline.filter((event) => event.type === 'order_cancelled')).toHaveLength(1);
    const ledger = await system.db.select().from(payments).where(eq(payments.orderId, order.orderId));
    expect(ledger.map((row) => row.kind).sort()).toEqual(['authorize', 'void']);
    expect(await checkInvariants(system.db, { orderIds: [order.orderId] })).toEqual([]);
  });

  it('answers a cancel replayed with its Idempotency-Key with the first answer, even once the order is closed', async () => {
    const order = orderRequest();
    await system.api('POST', '/orders', order);
    const key = { 'idempotency-key': `cancel-${order.orderId}` };
    const first = await system.api('POST', `/orders/${order.orderId}/cancel`, { reason: 'once' }, { headers: key });
    expect(first.status).toBe(200);
    await system.waitForOrder(order.orderId, settled);
    const replay = await system.api('POST', `/orders/${order.orderId}/cancel`, { reason: 'once' }, { headers: key });
    expect(replay.status).toBe(200);
    expect(replay.headers.get('idempotent-replayed')).toBe('true');
    expect(replay.body).toEqual(first.body);
    expect((await system.api('POST', `/orders/${order.orderId}/cancel`, { reason: 'once' })).status).toBe(409);
    expect(
      (await system.api('POST', `/orders/${order.orderId}/cancel`, { reason: 'another' }, { headers: key })).status,
    ).toBe(409);
  });

  it('resolves racing returns for the same units: one authorization, the other refused', async () => {
    const sku = await isolatedProduct(system.db, { 'wh-east': 5 });
    const order = orderRequest({ items: [{ sku, quantity: 2 }] });
    await system.api('POST', '/orders', order);
    await system.waitForOrder(order.orderId, (status) => status === 'delivered');
    const ask = (as: 'service' | 'support') =>
      system.api(
        'POST',
        `/orders/${order.orderId}/returns`,
        { items: [{ sku, quantity: 2 }], reason: 'no_longer_needed' },
        { as },
      );
    const answers = await Promise.all([ask('service'), ask('support'), ask('service')]);
    expect(answers.map((answer) => answer.status).sort()).toEqual([201, 409, 409]);
    const view = (await system.api('GET', `/orders/${order.orderId}`)).body;
    expect(view.returns).toHaveLength(1);
  });

  it('starts nothing for a caller without a credential or the role', async () => {
    const anonymous = orderRequest();
    const warehouse = orderRequest();
    expect((await system.api('POST', '/orders', anonymous, { as: 'anonymous' })).status).toBe(401);
    expect((await system.api('POST', '/orders', warehouse, { as: 'warehouse' })).status).toBe(403);
    for (const order of [anonymous, warehouse]) {
      const rows = (await system.db.execute(
        sql`select 1 from orders where order_id = ${order.orderId}`,
      )) as unknown as unknown[];
      expect(rows).toHaveLength(0);
      await expect(system.env.client.workflow.getHandle(orderWorkflowId(order.orderId)).describe()).rejects.toThrow(
        /not found/i,
      );
    }
  });
});
