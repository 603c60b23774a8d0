import { WorkflowNotFoundError } from '@temporalio/client';
import { eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stockMovements } from '../db/schema.js';
import { orderWorkflowId } from '../domain/ids.js';
import type { OrderPolicy } from '../domain/order.js';
import { OrderPriorityAttribute } from '../domain/search-attributes.js';
import { isolatedProduct, stockOf } from './support/database.js';
import { newOrderId, orderRequest, PRODUCTION_POLICY } from './support/orders.js';
import { startSystem, type System } from './support/system.js';

/**
 * How an order is taken in, on the whole system (API, dev server with task-queue priority, worker,
 * Postgres): its shipping address is checked against real postal data before anything starts, and
 * its priority decides how soon Temporal serves its work when the worker is behind.
 */
let system: System;
/** Order IDs in the order the warehouse was asked to pick them (the real simulator behind it). */
const pickRequests: string[] = [];

const policy: OrderPolicy = { ...PRODUCTION_POLICY, cancellationBuffer: '1s', returnWindow: '1m' };
/**
 * While set, the gateway holds every authorization: the worker's one activity slot stays busy, so
 * the orders placed meanwhile wait in Temporal's task queue, however fast the worker is.
 */
let paymentsHeld: Promise<void> | null = null;

beforeAll(async () => {
  system = await startSystem({
    policy,
    // One activity at a time: a flood of orders becomes a backlog in the task queue.
    maxConcurrentActivityTaskExecutions: 1,
    payments: (simulated) => ({
      ...simulated,
      async authorize(request) {
        await paymentsHeld;
        return simulated.authorize(request);
      },
    }),
    warehouse: (simulated) => ({
      ...simulated,
      async requestPick(task) {
        if (!pickRequests.includes(task.orderId)) pickRequests.push(task.orderId);
        return simulated.requestPick(task);
      },
    }),
  });
});

afterAll(async () => {
  await system?.stop();
});

async function workflowExists(orderId: string): Promise<boolean> {
  try {
    await system.env.client.workflow.getHandle(orderWorkflowId(orderId)).describe();
    return true;
  } catch (error) {
    if (error instanceof WorkflowNotFoundError) return false;
    throw error;
  }
}

describe('the shipping address', () => {
  it('refuses a ZIP in another state with 422 naming the field and a hint, and starts nothing', async () => {
    const sku = await isolatedProduct(system.db, { 'wh-west': 5 });
    const order = orderRequest({
      orderId: newOrderId('wrong-zip'),
      items: [{ sku, quantity: 1 }],
      shippingAddress: {
        name: 'Grace Hopper',
        line1: '1 Market St',
        city: 'San Francisco',
        region: 'NV',
        postalCode: '94105',
        country: 'US',
      },
    });
    const answer = await system.api('POST', '/orders', order);
    expect(answer.status).toBe(422);
    expect(answer.type).toContain('application/problem+json');
    expect(answer.body.errors).toContainEqual({
      field: 'shippingAddress.postalCode',
      message: '94105 is in CA, not NV',
    });
    expect(answer.body.detail).toContain('94105 is in CA, not NV');
    // No read-model row, no workflow, no stock moved.
    expect((await system.api('GET', `/orders/${order.orderId}`)).status).toBe(404);
    expect(await workflowExists(order.orderId)).toBe(false);
    expect(await stockOf(system.db, sku)).toEqual({ 'wh-west': { onHand: 5, reserved: 0 } });
    const moved = await system.db.select().from(stockMovements).where(eq(stockMovements.sku, sku));
    expect(moved.map((movement) => movement.kind)).toEqual(['restock']);
  });

  it('refuses a ZIP that does not exist and a city the ZIP is not in', async () => {
    const noSuchZip = orderRequest({
      shippingAddress: { ...orderRequest().shippingAddress, postalCode: '00000' },
    });
    const wrongCity = orderRequest({
      shippingAddress: { ...orderRequest().shippingAddress, city: 'Cambridge' },
    });
    const [zip, city] = await Promise.all([
      system.api('POST', '/orders', noSuchZip),
      system.api('POST', '/orders', wrongCity),
    ]);
    expect(zip.status).toBe(422);
    expect(zip.body.errors).toEqual([
      { field: 'shippingAddress.postalCode', message: 'ZIP code 00000 does not exist' },
    ]);
    expect(city.status).toBe(422);
    expect(city.body.errors).toEqual([
      { field: 'shippingAddress.city', message: '02108 is Boston, MA, not Cambridge' },
    ]);
    expect(await workflowExists(noSuchZip.orderId)).toBe(false);
    expect(await workflowExists(wrongCity.orderId)).toBe(false);
  });

  it('keeps the address normalized: state code, five-digit ZIP, the ZIP’s spelling of the city', async () => {
    const order = orderRequest({
      orderId: newOrderId('normalized'),
      shippingAddress: {
        name: 'Ada Lovelace',
        line1: '1 Main St',
        city: ' boston ',
        region: 'massachusetts',
        postalCode: '02108-1234',
        country: 'US',
      },
    });
    const answer = await system.api('POST', '/orders', order);
    expect(answer.status).toBe(202);
    expect(answer.body.shippingAddress).toMatchObject({ city: 'Boston', region: 'MA', postalCode: '02108' });
    // The same body again is the same order (a retry), not a conflict.
    expect((await system.api('POST', '/orders', order)).status).toBe(200);
  });
});

describe('order priority', () => {
  it('shows the priority in the view and sets the OrderPriority search attribute', async () => {
    const vip = orderRequest({
      orderId: newOrderId('vip'),
      customer: { ...orderRequest().customer, tier: 'vip' },
    });
    const answer = await system.api('POST', '/orders', vip);
    expect(answer.status).toBe(202);
    expect(answer.body.priority).toBe('high');
    const description = await system.env.client.workflow.getHandle(orderWorkflowId(vip.orderId)).describe();
    expect(description.typedSearchAttributes.get(OrderPriorityAttribute)).toBe('high');
    expect(description.raw.workflowExecutionInfo?.priority?.priorityKey).toBe(2);
  });

  it(
    'with a queue of normal orders, picks the urgent ones first',
    async () => {
      const sku = await isolatedProduct(system.db, { 'wh-east': 500 });
      const order = (prefix: string, shippingSpeed: 'standard' | 'overnight') =>
        orderRequest({ orderId: newOrderId(prefix), items: [{ sku, quantity: 1 }], shippingSpeed });
      // Lean orders run few activities: a backlog deep enough to overtake takes more than 16 of them.
      const normal = Array.from({ length: 24 }, () => order('flood-normal', 'standard'));
      const urgent = Array.from({ length: 3 }, () => order('flood-urgent', 'overnight'));
      // Every normal order is in before the first urgent one: FIFO would pick the urgent ones last.
      // The first order's authorization holds the one activity slot until all are in, so the
      // flood is a backlog whatever the machine's speed (a fast worker used to clear it as it came).
      let release = () => {};
      paymentsHeld = new Promise((resolve) => (release = resolve));
      try {
        for (const request of [...normal, ...urgent]) {
          const answer = await system.api('POST', '/orders', request);
          expect(answer.status).toBe(202);
          expect(answer.body.priority).toBe(request.shippingSpeed === 'overnight' ? 'urgent' : 'normal');
        }
      } finally {
        paymentsHeld = null;
        release();
      }
      const ours = new Set([...normal, ...urgent].map((request) => request.orderId));
      const deadline = Date.now() + 240_000;
      while ([...ours].some((orderId) => !pickRequests.includes(orderId)) && Date.now() < deadline)
        await new Promise((resolve) => setTimeout(resolve, 250));
      const picks = pickRequests.filter((orderId) => ours.has(orderId));
      expect(picks).toHaveLength(ours.size);
      console.info(`pick order under a flood: ${picks.map((id) => id.split('-')[1]).join(' ')}`);
      // Each urgent order was picked before at least half the normal ones queued ahead of it (FIFO:
      // none). Not more: between the queue's stages (authorize, capture, the shipment's steps) the
      // worker takes what is there, and a normal order a stage ahead can reach the pick first.
      for (const { orderId } of urgent) {
        const before = picks.slice(0, picks.indexOf(orderId));
        const normalsAhead = before.filter((id) => id.startsWith('flood-normal')).length;
        expect(normalsAhead, `pick order: ${picks.join(', ')}`).toBeLessThanOrEqual(normal.length / 2);
      }
      // Once more on a loaded machine, where the urgent orders' own requests can arrive late (CI saw it).
    },
    { timeout: 300_000, retry: 1 },
  );
});
