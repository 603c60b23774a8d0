import { WorkflowNotFoundError } from '@temporalio/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { orderWorkflowId } from '../domain/ids.js';
import type { OrderPolicy } from '../domain/order.js';
import { FINAL_STATUSES } from '../domain/statuses.js';
import { isolatedProduct } from './support/database.js';
import { orderRequest, PRODUCTION_POLICY } from './support/orders.js';
import { startSystem, type System } from './support/system.js';

/**
 * Retried requests on the whole system: a create redelivered long after its order closed, and a
 * return request retried after the API gave up waiting (503) on the workflow update.
 */
let system: System;

const policy: OrderPolicy = {
  ...PRODUCTION_POLICY,
  cancellationBuffer: '1s',
  returnWindow: '1m',
  warehouseTaskSla: '1m',
};

/** Extra milliseconds the carrier takes to sell a return label and the gateway to void or refund a payment, so an update can outlast the API's deadline. */
let returnLabelDelayMs = 0;
let voidDelayMs = 0;
const UPDATE_DEADLINE_MS = 1_500;

beforeAll(async () => {
  system = await startSystem({
    policy,
    temporalUpdateDeadlineMs: UPDATE_DEADLINE_MS,
    carriers: (simulated) => ({
      ...simulated,
      async buyReturnLabel(request) {
        await new Promise((resolve) => setTimeout(resolve, returnLabelDelayMs));
        return simulated.buyReturnLabel(request);
      },
    }),
    payments: (simulated) => ({
      ...simulated,
      async void(request) {
        await new Promise((resolve) => setTimeout(resolve, voidDelayMs));
        return simulated.void(request);
      },
      // The same delay on a refund: on a loaded machine the 1 s buffer may end (and the capture
      // land) before the cancel arrives, and the cancel's undo is then a refund.
      async refund(request) {
        await new Promise((resolve) => setTimeout(resolve, voidDelayMs));
        return simulated.refund(request);
      },
    }),
  });
});

afterAll(async () => {
  await system?.stop();
});

const settled = (status: string) => (FINAL_STATUSES as readonly string[]).includes(status);

async function eventually(check: () => Promise<boolean>, what: string, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}

describe('a create redelivered after its order closed', () => {
  it('answers 200 with the final view from the read model and starts no new run, even once Temporal forgot the closed one', async () => {
    const order = orderRequest();
    expect((await system.api('POST', '/orders', order)).status).toBe(202);
    expect((await system.api('POST', `/orders/${order.orderId}/cancel`, { reason: 'changed mind' })).status).toBe(200);
    await system.waitForOrder(order.orderId, settled);
    const handle = system.env.client.workflow.getHandle(orderWorkflowId(order.orderId));
    await handle.result();
    // The final view, once the outbox has sent the cancellation notice too.
    await eventually(
      async () => (await system.api('GET', `/orders/${order.orderId}`)).body.pendingNotifications.length === 0,
      'the notices to be sent',
    );
    const final = (await system.api('GET', `/orders/${order.orderId}`)).body;

    // Retention expiry, as Temporal does it: the closed run is deleted.
    await system.env.client.workflowService.deleteWorkflowExecution({
      namespace: system.env.namespace ?? 'default',
      workflowExecution: { workflowId: orderWorkflowId(order.orderId) },
    });
    await eventually(
      () =>
        handle.describe().then(
          () => false,
          (error: unknown) => error instanceof WorkflowNotFoundError,
        ),
      'the closed run to be deleted',
    );

    // Weeks later, the queue delivers the create again.
    const redelivered = await system.api('POST', '/orders', order);
    expect(redelivered.status).toBe(200);
    expect(redelivered.body).toEqual(final);
    await expect(handle.describe()).rejects.toThrow(WorkflowNotFoundError);
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    expect((await system.api('GET', `/orders/${order.orderId}`)).body).toEqual(final);
  });
});

describe('a return request retried with its Idempotency-Key', () => {
  it('attaches to the first, still-running update after a 503 and answers the same return; without a key the units are taken', async () => {
    const sku = await isolatedProduct(system.db, { 'wh-east': 5 });
    const order = orderRequest({ items: [{ sku, quantity: 2 }] });
    expect((await system.api('POST', '/orders', order)).status).toBe(202);
    await system.waitForOrder(order.orderId, (status) => status === 'delivered');

    const body = { items: [{ sku, quantity: 2 }], reason: 'no_longer_needed' };
    const key = { 'idempotency-key': `return-${order.orderId}` };
    returnLabelDelayMs = UPDATE_DEADLINE_MS * 2;
    try {
      const first = await system.api('POST', `/orders/${order.orderId}/returns`, body, { headers: key });
      expect(first.status).toBe(503);
      // The client retries as told while the first update is still buying the label.
      let retry = await system.api('POST', `/orders/${order.orderId}/returns`, body, { headers: key });
      for (let attempt = 0; retry.status === 503 && attempt < 5; attempt += 1) {
        retry = await system.api('POST', `/orders/${order.orderId}/returns`, body, { headers: key });
      }
      expect(retry.status).toBe(201);
      expect(retry.headers.get('idempotent-replayed')).toBeNull();

      const view = (await system.api('GET', `/orders/${order.orderId}`)).body;
      expect(view.returns).toHaveLength(1);
      expect(retry.body.returnId).toBe(view.returns[0].returnId);

      // Now answered from the stored response; without a key it is another request, for units already taken.
      const replay = await system.api('POST', `/orders/${order.orderId}/returns`, body, { headers: key });
      expect(replay.status).toBe(201);
      expect(replay.headers.get('idempotent-replayed')).toBe('true');
      expect(replay.body).toEqual(retry.body);
      returnLabelDelayMs = 0;
      expect((await system.api('POST', `/orders/${order.orderId}/returns`, body)).status).toBe(409);
    } finally {
      returnLabelDelayMs = 0;
    }
  });
});

describe('a cancel retried with its Idempotency-Key', () => {
  it('answers the cancellation after a 503, even once the cancel closed the order; another key is told it is closed', async () => {
    const order = orderRequest();
    expect((await system.api('POST', '/orders', order)).status).toBe(202);
    await system.waitForOrder(order.orderId, (status) => status === 'confirmed');
    const key = { 'idempotency-key': `cancel-${order.orderId}` };
    voidDelayMs = UPDATE_DEADLINE_MS * 2;
    try {
      const first = await system.api(
        'POST',
        `/orders/${order.orderId}/cancel`,
        { reason: 'changed mind' },
        { headers: key },
      );
      expect(first.status).toBe(503);
      await system.waitForOrder(order.orderId, settled);
    } finally {
      voidDelayMs = 0;
    }
    const retry = await system.api(
      'POST',
      `/orders/${order.orderId}/cancel`,
      { reason: 'changed mind' },
      { headers: key },
    );
    expect(retry.status).toBe(200);
    expect(retry.body).toMatchObject({
      orderId: order.orderId,
      status: 'cancelled',
      cancellation: { reason: 'changed mind', requestedBy: 'admin-desk' },
    });
    const other = await system.api(
      'POST',
      `/orders/${order.orderId}/cancel`,
      { reason: 'changed mind' },
      { headers: { 'idempotency-key': `other-${order.orderId}` } },
    );
    expect(other.status).toBe(409);
    expect(other.body.title).toBe('Order is closed');
  });
});
