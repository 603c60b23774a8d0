import type { DataConverter } from '@temporalio/common';
import proto from '@temporalio/proto';
import { Worker } from '@temporalio/worker';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createActivities } from '../activities/index.js';
import { payloadDataConverter } from '../config/temporal.js';
import { checkInvariants } from '../db/invariants.js';
import { orderWorkflowId, TASK_QUEUE } from '../domain/ids.js';
import type { OrderPolicy } from '../domain/order.js';
import { parseEncryptionKeys } from '../platform/payload-codec.js';
import { TEST_PAYLOAD_ENCRYPTION_KEYS } from './support/credentials.js';
import { isolatedProduct } from './support/database.js';
import { orderRequest, PRODUCTION_POLICY } from './support/orders.js';
import { startSystem, type System } from './support/system.js';
import { workflowBundle } from './support/workers.js';

/**
 * A key rotation done in the wrong order: the workflow worker starts encrypting with a key the
 * activity worker does not have yet (the API and the workflow worker have it). The step whose input cannot be decrypted fails at once (no retries)
 * naming the key ID, the order parks in needs_attention, its bookkeeping waits; once the activity
 * worker gets the key, the order is retried and finishes with nothing lost.
 */
const { temporal } = proto;

let system: System;
const workers: { worker: Worker; running: Promise<void> }[] = [];

const policy: OrderPolicy = { ...PRODUCTION_POLICY, cancellationBuffer: '6s', returnWindow: '1m' };
/** The tests' keys, `test-2` first (what the API encrypts with), and the older `test-1` alone or first. */
const [CURRENT, OLDER] = TEST_PAYLOAD_ENCRYPTION_KEYS.split(',') as [string, string];
const converter = (keys: string): DataConverter =>
  payloadDataConverter({
    PAYLOAD_ENCRYPTION_KEYS: parseEncryptionKeys(keys),
    PAYLOAD_ENCRYPTION: 'on',
    NODE_ENV: 'test',
  });

/** A worker of one kind on the order task queue: workflows only, or activities only. */
async function startWorker(kind: 'workflows' | 'activities', keys: string) {
  const worker = await Worker.create({
    connection: system.env.nativeConnection,
    namespace: system.env.namespace ?? 'default',
    taskQueue: TASK_QUEUE,
    dataConverter: converter(keys),
    // A workflow worker runs the order's read-model writes itself, as local activities (Patch.FeedbackInOutbox).
    ...(kind === 'workflows'
      ? {
          workflowBundle: await workflowBundle(),
          activities: createActivities(system.deps),
          enableNonLocalActivities: false,
        }
      : { activities: createActivities(system.deps) }),
  });
  const entry = { worker, running: worker.run() };
  workers.push(entry);
  return entry;
}

async function stopWorker(entry: { worker: Worker; running: Promise<void> }) {
  entry.worker.shutdown();
  await entry.running;
  workers.splice(workers.indexOf(entry), 1);
}

async function eventually<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 60_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}

beforeAll(async () => {
  system = await startSystem({ policy, worker: false });
});

afterAll(async () => {
  for (const entry of [...workers]) await stopWorker(entry);
  await system?.stop();
});

describe('a payload encrypted with a key the worker does not have', () => {
  it('parks the order in needs_attention naming the key ID, and loses nothing once the key is back', async () => {
    const sku = await isolatedProduct(system.db, { 'wh-east': 5 }, 990);
    const request = orderRequest({ items: [{ sku, quantity: 1 }] });
    const workflowId = orderWorkflowId(request.orderId);
    // Before the rotation: the workflow worker encrypts with the older key, which is all the activity worker has.
    let workflows = await startWorker('workflows', `${OLDER},${CURRENT}`);
    let activities = await startWorker('activities', OLDER);
    expect((await system.api('POST', '/orders', request, { as: 'service' })).status).toBe(202);
    await system.waitForOrder(request.orderId, (status) => status === 'confirmed');

    // Inside the free-cancel window, the workflow worker restarts with the newer key first; the activity worker lacks it.
    await stopWorker(workflows);
    workflows = await startWorker('workflows', `${CURRENT},${OLDER}`);

    // The capture's input cannot be decrypted: one attempt, a failure naming the key, the order parked.
    const handle = system.env.client.workflow.getHandle(workflowId);
    const failed = await eventually('the capture to fail', async () => {
      const { events } = await handle.fetchHistory();
      return (
        events?.find((event) => event.activityTaskFailedEventAttributes)?.activityTaskFailedEventAttributes ?? undefined
      );
    });
    expect(failed.failure?.message).toContain('"test-2"');
    expect(failed.failure?.applicationFailureInfo?.type).toBe('UnknownEncryptionKey');
    // Not retried: the step's retry policy lists the type.
    expect(failed.retryState).toBe(temporal.api.enums.v1.RetryState.RETRY_STATE_NON_RETRYABLE_FAILURE);
    const parked = await eventually('the order to be parked', async () => {
      const description = await handle.describe();
      const status = description.searchAttributes.OrderStatus?.[0];
      return status === 'needs_attention' ? description : undefined;
    });
    // Its bookkeeping is not held up: the read model is written by the workflow's worker (a local
    // activity, with the keys that encrypted it), so operators see the park and its reason at once.
    expect(parked.runId).toBeTruthy();
    const view = await system.waitForOrder(request.orderId, (status) => status === 'needs_attention');
    expect(view.attention).toContain('"test-2"');

    // The operator gives the activity worker the key, then a retry finishes the order.
    await stopWorker(activities);
    activities = await startWorker('activities', TEST_PAYLOAD_ENCRYPTION_KEYS);
    const retried = await system.api('POST', `/orders/${request.orderId}/retry`, undefined, { as: 'support' });
    expect(retried.status).toBe(200);
    const delivered = await system.waitForOrder(request.orderId, (status) => status === 'delivered', 60_000);
    expect(delivered.timeline.map((event) => event.type)).toEqual(
      expect.arrayContaining(['needs_attention', 'step_retried', 'payment_captured']),
    );
    expect(await checkInvariants(system.db)).toEqual([]);
    // The bookkeeping's retries back off (up to minutes) while the key is missing.
  }, 240_000);
});
