import { execFile } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import type { Client } from '@temporalio/client';
import type { WorkerDeploymentOptions } from '@temporalio/worker';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import proto from '@temporalio/proto';
import { orderWorkflowId, TASK_QUEUE } from '../domain/ids.js';
import type { reconcileOrdersWorkflow } from '../workflows/index.js';
import type { OrderPolicy } from '../domain/order.js';
import { bundleForGate, committedSource, liveSource, replayGate } from '../scripts/replay-gate.js';
import { currentBuildId, ensureCurrentVersion, type WorkerVersion } from '../workers/versioning.js';
import { TEST_PAYLOAD_ENCRYPTION_KEYS, testDataConverter } from './support/credentials.js';
import { isolatedProduct } from './support/database.js';
import { orderRequest, PRODUCTION_POLICY } from './support/orders.js';
import { startSystem, type System } from './support/system.js';

/**
 * Safe deploys (docs/operations.md#safe-deploys): the replay gate catches a build that would break
 * running orders, and a rollout with worker deployment versioning moves a waiting order to the new
 * build and sends new orders there, on a real Temporal dev server.
 */
const root = fileURLToPath(new URL('../', import.meta.url));
/** Bundling and replaying some 40 histories is CPU-bound: slow on a shared machine, never a hang. */
const GATE_TIMEOUT = 300_000;

describe('npm run deploy:check on the committed histories', () => {
  it(
    'passes on the workflow code as it is',
    async () => {
      const report = await replayGate({ workflowBundle: await bundleForGate(), sources: [committedSource()] });
      expect(report.failures).toEqual([]);
      expect(report.ok).toBe(true);
      expect(report.sources[0]!.replayed).toBeGreaterThan(20);
    },
    GATE_TIMEOUT,
  );

  it(
    'fails, naming each history, on a build that no longer records a milestone',
    async () => {
      // A copy of the workflows (and the domain they import) in which record() skips its activity.
      const copy = mkdtempSync(`${root}test/artifacts/changed-workflows-`);
      try {
        cpSync(`${root}workflows`, `${copy}/workflows`, { recursive: true });
        cpSync(`${root}domain`, `${copy}/domain`, { recursive: true });
        const state = `${copy}/workflows/order/record.ts`;
        const original = readFileSync(state, 'utf8');
        const changed = original.replace(
          'await mustComplete.recordOrderUpdate({ order: this.input, view: this.view });',
          '// the read-model write removed',
        );
        expect(changed).not.toBe(original);
        writeFileSync(state, changed);

        const report = await replayGate({
          workflowBundle: await bundleForGate(`${copy}/workflows/index.ts`),
          sources: [committedSource()],
        });
        expect(report.ok).toBe(false);
        const failed = report.failures.map((f) => f.workflowId);
        expect(failed).toEqual(expect.arrayContaining(['order-completed', 'order-cancelled-free', 'order-returned']));
        expect(report.failures.find((f) => f.workflowId === 'order-completed')!.error).toMatch(/determinism/i);
      } finally {
        rmSync(copy, { recursive: true, force: true });
      }
    },
    GATE_TIMEOUT,
  );
});

describe('a rollout with worker deployment versioning', () => {
  const policy: OrderPolicy = {
    ...PRODUCTION_POLICY,
    cancellationBuffer: '1s',
    returnWindow: '2s',
    warehouseTaskSla: '1m',
  };
  const deploymentName = `order-fulfillment-${Math.random().toString(36).slice(2, 8)}`;
  const buildA: WorkerVersion = { deploymentName, buildId: '0.1.0+aaaaaaaaaaaa' };
  const buildB: WorkerVersion = { deploymentName, buildId: '0.1.0+bbbbbbbbbbbb' };
  const versioned = (version: WorkerVersion): WorkerDeploymentOptions => ({
    useWorkerVersioning: true,
    version,
    defaultVersioningBehavior: 'AUTO_UPGRADE',
  });
  let system: System;
  let client: Client;

  beforeAll(async () => {
    system = await startSystem({ policy, workerDeploymentOptions: versioned(buildA) });
    client = system.env.client;
  });

  afterAll(async () => {
    await system?.stop();
  });

  /** The build ID of every workflow task the order's workflow completed, in order. */
  async function buildsOf(orderId: string): Promise<string[]> {
    const history = await client.workflow.getHandle(orderWorkflowId(orderId)).fetchHistory();
    return (history.events ?? []).flatMap((event) => {
      const completed = event.workflowTaskCompletedEventAttributes;
      return completed ? [completed.deploymentVersion?.buildId ?? '(unversioned)'] : [];
    });
  }

  /** Until the server knows the version (it learns of it from the worker's first polls). */
  async function untilKnown<T>(call: () => Promise<T>): Promise<T> {
    for (let attempt = 1; ; attempt += 1) {
      try {
        return await call();
      } catch (error) {
        if (attempt >= 60) throw error;
        await new Promise((resolve) => setTimeout(resolve, 500));
      }
    }
  }

  it(
    'moves a waiting order to the new build once it is current, and sends new orders there',
    async () => {
      // The first start of a deployment makes its version current; nothing else would get work.
      expect(await ensureCurrentVersion(client, buildA)).toEqual({ outcome: 'made-current', current: buildA.buildId });

      // An order on build A waits for a restock: a workflow between tasks, as most orders are.
      const sku = await isolatedProduct(system.db, { 'wh-east': 0 }, 1500);
      const waiting = orderRequest({ items: [{ sku, quantity: 1 }], backorderPolicy: 'wait' });
      expect((await system.api('POST', '/orders', waiting)).status).toBe(202);
      await system.waitForOrder(waiting.orderId, (status) => status === 'backordered');
      expect(new Set(await buildsOf(waiting.orderId))).toEqual(new Set([buildA.buildId]));

      // Build B starts: a start never takes over a deployment that has a current version.
      await system.startWorker(versioned(buildB));
      expect(await ensureCurrentVersion(client, buildB)).toEqual({ outcome: 'not-current', current: buildA.buildId });

      // Ramp B, then make it current (the runbook's set-ramping-version, then set-current-version).
      const namespace = client.options.namespace;
      await untilKnown(() =>
        client.workflowService.setWorkerDeploymentRampingVersion({
          namespace,
          deploymentName,
          buildId: buildB.buildId,
          percentage: 25,
          identity: 'deploy-test',
        }),
      );
      const ramping = await client.workflowService.describeWorkerDeployment({ namespace, deploymentName });
      expect(ramping.workerDeploymentInfo?.routingConfig?.rampingDeploymentVersion?.buildId).toBe(buildB.buildId);
      expect(ramping.workerDeploymentInfo?.routingConfig?.rampingVersionPercentage).toBe(25);
      await client.workflowService.setWorkerDeploymentCurrentVersion({
        namespace,
        deploymentName,
        buildId: buildB.buildId,
        identity: 'deploy-test',
      });
      expect(await currentBuildId(client, deploymentName)).toBe(buildB.buildId);
      // Build A's workers drain and stop: from here only B can run anything.
      await system.stopFirstWorker();

      // The restock wakes the waiting order, which finishes on B (AUTO_UPGRADE).
      const restock = await system.api('POST', '/inventory/adjustments', {
        warehouseId: 'wh-east',
        sku,
        delta: 1,
        reason: 'restock',
      });
      expect(restock.status).toBe(201);
      await system.waitForOrder(waiting.orderId, (status) => status === 'completed', 120_000);
      const builds = await buildsOf(waiting.orderId);
      expect(builds[0]).toBe(buildA.buildId);
      expect(builds.at(-1)).toBe(buildB.buildId);
      expect(builds.slice(builds.indexOf(buildB.buildId)).every((build) => build === buildB.buildId)).toBe(true);

      // A new order runs on B from its first task.
      const fresh = orderRequest();
      expect((await system.api('POST', '/orders', fresh)).status).toBe(202);
      await system.waitForOrder(fresh.orderId, (status) => status === 'completed', 120_000);
      expect(new Set(await buildsOf(fresh.orderId))).toEqual(new Set([buildB.buildId]));

      // Each type runs with the behaviour it names (workflows/index.ts): orders move, a reconcile run stays.
      const { VersioningBehavior } = proto.temporal.api.enums.v1;
      const behaviourOf = async (workflowId: string) =>
        (await client.workflow.getHandle(workflowId).describe()).raw.workflowExecutionInfo?.versioningInfo?.behavior;
      expect(await behaviourOf(orderWorkflowId(fresh.orderId))).toBe(
        VersioningBehavior.VERSIONING_BEHAVIOR_AUTO_UPGRADE,
      );
      const reconcile = await client.workflow.execute<typeof reconcileOrdersWorkflow>('reconcileOrdersWorkflow', {
        workflowId: `reconcile-deploy-test-${deploymentName}`,
        taskQueue: TASK_QUEUE,
        args: [{ grace: '5m', orderIds: [] }],
      });
      expect(reconcile.orders).toEqual([]);
      expect(await behaviourOf(`reconcile-deploy-test-${deploymentName}`)).toBe(
        VersioningBehavior.VERSIONING_BEHAVIOR_PINNED,
      );
    },
    GATE_TIMEOUT,
  );

  it(
    "replays the live cluster's histories per workflow type and status, in process and through npm run deploy:check --address",
    async () => {
      const report = await replayGate({
        workflowBundle: await bundleForGate(),
        sources: [liveSource(client, { workflowTypes: ['orderWorkflow', 'reconcileOrdersWorkflow'], perGroup: 5 })],
        // Live histories are encrypted, as in production: the gate decodes with the workers' codec.
        dataConverter: testDataConverter,
      });
      expect(report.failures).toEqual([]);
      expect(report.sources[0]!.replayed).toBeGreaterThanOrEqual(2);

      const { stdout } = await promisify(execFile)(
        process.execPath,
        ['--import', 'tsx', 'scripts/deploy-check.ts', '--address', system.env.address, '--per-group', '3'],
        {
          cwd: root,
          env: {
            ...process.env,
            TEMPORAL_NAMESPACE: client.options.namespace,
            PAYLOAD_ENCRYPTION_KEYS: TEST_PAYLOAD_ENCRYPTION_KEYS,
          },
        },
      );
      expect(stdout).toMatch(/committed \(test\/fixtures\/histories\)\s+\d+\s+0/);
      expect(stdout).toMatch(/live \(default\)\s+[2-9]\d*\s+0/);
      expect(stdout).toContain('deploy:check passed');
    },
    GATE_TIMEOUT,
  );
});
