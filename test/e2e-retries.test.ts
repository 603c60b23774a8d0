import { WorkflowNotFoundError } from '@temporalio/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { orderWorkflowId } from '../domain/ids.js';
import type { OrderPolicy } from '../domain/order.js';
import { FINAL_STATUSES } from '../domain/statuses.js';
import { orderRequest, PRODUCTION_POLICY } from './support/orders.js';
import { startSystem, type System } from './support/system.js';

/** Retried requests on the whole system: a create redelivered long after its order closed. */
let system: System;

const policy: OrderPolicy = { ...PRODUCTION_POLICY, cancellationBuffer: '1s', returnWindow: '1m', warehouseTaskSla: '1m' };

beforeAll(async () => {
  system = await startSystem({ policy });
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
    const final = (await system.api('GET', `/orders/${order.orderId}`)).body;

    // Retention expiry, as Temporal does it: the closed run is deleted.
    await system.env.client.workflowService.deleteWorkflowExecution({
      namespace: system.env.namespace ?? 'default',
      workflowExecution: { workflowId: orderWorkflowId(order.orderId) },
    });
    await eventually(
      () => handle.describe().then(() => false, (error: unknown) => error instanceof WorkflowNotFoundError),
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
