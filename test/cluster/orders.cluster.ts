import { Client, Connection } from '@temporalio/client';
import type { DataConverter } from '@temporalio/common';
import { payloadDataConverter } from '../../config/temporal.js';
import { parseEncryptionKeys } from '../../platform/payload-codec.js';
import postgres from 'postgres';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { orderWorkflowId, TASK_QUEUE } from '../../domain/ids.js';
import { TEMPORAL_SERVER_VERSION } from '../../scripts/cluster-topology.js';
import { bundleForGate, liveSource, replayGate } from '../../scripts/replay-gate.js';
import { computeBuildId, currentBuildId } from '../../workers/versioning.js';
import { HAPPY_PATH_TIMELINE, orderRequest } from '../support/orders.js';

/**
 * Orders on the production topology: HTTP → the API process → the Temporal server built from
 * source, on Postgres → two worker processes → Postgres, the simulated warehouse and carriers
 * answering through the API's webhooks. Nothing here runs in the test process but the client.
 */
const cluster = inject('cluster');
let connection: Connection;
let temporal: Client;
let dataConverter: DataConverter;

beforeAll(async () => {
  connection = await Connection.connect({ address: cluster.temporalAddress });
  // Payloads are encrypted on the cluster, as in production: the test reads them with the workers' keys.
  dataConverter = payloadDataConverter({
    PAYLOAD_ENCRYPTION_KEYS: parseEncryptionKeys(cluster.payloadEncryptionKeys),
    PAYLOAD_ENCRYPTION: 'on',
    NODE_ENV: 'production',
  });
  temporal = new Client({ connection, namespace: cluster.namespace, dataConverter });
});

afterAll(async () => {
  await connection?.close();
});

async function api(method: string, path: string, body?: unknown) {
  const response = await fetch(`${cluster.apiUrl}${path}`, {
    method,
    headers: {
      authorization: `Bearer ${cluster.apiKeys.admin}`,
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
    },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  return { status: response.status, body: (await response.json()) as any };
}

async function waitForStatus(
  orderId: string,
  status: string,
  timeoutMs = 60_000,
): Promise<{ status: string; timeline: { type: string }[] }> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const { body } = await api('GET', `/orders/${orderId}`);
    if (body?.status === status) return body;
    if (Date.now() > deadline)
      throw new Error(
        `order ${orderId} at ${body?.status}, not ${status}: ${JSON.stringify(body?.timeline?.map((e: { type: string }) => e.type))}`,
      );
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}

async function waitForVisibility(query: string, timeoutMs = 20_000): Promise<string[]> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const ids: string[] = [];
    for await (const execution of temporal.workflow.list({ query })) ids.push(execution.workflowId);
    if (ids.length > 0 || Date.now() > deadline) return ids;
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}

describe('orders on a Temporal cluster on Postgres', () => {
  it('runs on the Go-built Temporal server with two worker processes polling the order queue', async () => {
    const info = await connection.workflowService.getSystemInfo({});
    expect(info.serverVersion).toBe(TEMPORAL_SERVER_VERSION);
    const queue = await connection.workflowService.describeTaskQueue({
      namespace: cluster.namespace,
      taskQueue: { name: TASK_QUEUE },
    });
    // A worker's identity is `<pid>@<host>`: two processes, two identities.
    expect(new Set(queue.pollers.map((poller) => poller.identity)).size).toBe(2);
  });

  it('takes orders placed through the API to completed, across both workers, and finds them by OrderStatus in visibility on Postgres', async () => {
    const requests = Array.from({ length: 4 }, () => orderRequest({ items: [{ sku: 'MUG-CERAMIC', quantity: 1 }] }));
    for (const request of requests) expect((await api('POST', '/orders', request)).status).toBe(202);

    for (const request of requests) {
      const view = await waitForStatus(request.orderId, 'completed');
      expect(view.timeline.map((event) => event.type)).toEqual(HAPPY_PATH_TIMELINE);
    }

    // Visibility (advanced queries on Postgres 12+, no Elasticsearch) finds each by its status.
    const [first] = requests;
    const found = await waitForVisibility(
      `OrderStatus = 'completed' AND WorkflowId = '${orderWorkflowId(first!.orderId)}'`,
    );
    expect(found).toEqual([orderWorkflowId(first!.orderId)]);
    const ids = requests.map((request) => `'${orderWorkflowId(request.orderId)}'`).join(', ');
    const count = await temporal.workflow.count(`OrderStatus = 'completed' AND WorkflowId IN (${ids})`);
    expect(count.count).toBe(requests.length);

    // …and the rows are in Postgres: the visibility database the server was configured with.
    const visibility = postgres(
      Object.assign(new URL(cluster.databaseUrl), { pathname: '/temporal_visibility' }).toString(),
      { max: 1 },
    );
    try {
      const rows =
        await visibility`select workflow_id, search_attributes from executions_visibility where workflow_id = ${orderWorkflowId(first!.orderId)}`;
      expect(rows).toHaveLength(1);
      expect(JSON.stringify(rows[0]!.search_attributes)).toContain('completed');
    } finally {
      await visibility.end();
    }

    // Which worker processes ran the orders' workflow tasks and activities (both, as a rule).
    const identities = new Set<string>();
    for (const request of requests) {
      const history = await temporal.workflow.getHandle(orderWorkflowId(request.orderId)).fetchHistory();
      for (const event of history.events ?? []) {
        const identity =
          event.workflowTaskStartedEventAttributes?.identity ?? event.activityTaskStartedEventAttributes?.identity;
        if (identity) identities.add(identity);
      }
    }
    expect(identities.size).toBeGreaterThanOrEqual(1);
    console.info(`worker identities in the histories: ${[...identities].join(', ')}`);
  });

  it('cancels an order inside the free-cancel window, and visibility shows it cancelled', async () => {
    const request = orderRequest({ items: [{ sku: 'BOOK-TEMPORAL', quantity: 1 }] });
    expect((await api('POST', '/orders', request)).status).toBe(202);
    const cancelled = await api('POST', `/orders/${request.orderId}/cancel`, { reason: 'cluster test' });
    expect(cancelled.status).toBe(200);
    expect(cancelled.body.status).toBe('cancelled');
    const view = await waitForStatus(request.orderId, 'cancelled');
    expect(view.timeline.map((event) => event.type)).not.toContain('payment_captured');
    const found = await waitForVisibility(
      `OrderStatus = 'cancelled' AND WorkflowId = '${orderWorkflowId(request.orderId)}'`,
    );
    expect(found).toEqual([orderWorkflowId(request.orderId)]);
  });

  it("runs orders on the workers' deployment version, made current by the first start, and passes the replay gate on the cluster's histories", async () => {
    // Both workers poll as this tree's build; the first to start found no current version and set it.
    const build = computeBuildId();
    expect(await currentBuildId(temporal, 'order-fulfillment')).toBe(build);
    const [completed] = await waitForVisibility('WorkflowType = "orderWorkflow" AND ExecutionStatus = "Completed"');
    const history = await temporal.workflow.getHandle(completed!).fetchHistory();
    const builds = new Set(
      (history.events ?? []).flatMap((event) =>
        event.workflowTaskCompletedEventAttributes
          ? [event.workflowTaskCompletedEventAttributes.deploymentVersion?.buildId]
          : [],
      ),
    );
    expect(builds).toEqual(new Set([build]));

    // npm run deploy:check --address against this cluster, in process.
    const report = await replayGate({
      workflowBundle: await bundleForGate(),
      sources: [liveSource(temporal, { workflowTypes: ['orderWorkflow', 'reconcileOrdersWorkflow'], perGroup: 3 })],
      dataConverter,
    });
    expect(report.failures).toEqual([]);
    expect(report.sources[0]!.replayed).toBeGreaterThanOrEqual(3);
  });
});
