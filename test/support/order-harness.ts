import type { WorkflowHandle } from '@temporalio/client';
import type { Duration } from '@temporalio/common';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { orderWorkflowId, shipmentWorkflowId } from '../../domain/ids.js';
import { orderViewQuery } from '../../domain/messages.js';
import type { OrderPolicy, OrderView } from '../../domain/order.js';
import { orderWorkflow } from '../../workflows/order.js';
import { fakeActivities, type FakeWorld } from './fake-activities.js';
import { saveHistory } from './histories.js';
import { orderRequest, PRODUCTION_POLICY, workflowInput } from './orders.js';
import { withWorker } from './workers.js';

export type Fakes = ReturnType<typeof fakeActivities>;
export type Handle = WorkflowHandle<typeof orderWorkflow>;

/**
 * The order-workflow tests' harness on a time-skipping server (`env()` once its beforeAll ran):
 * one order at a time on a worker with fake activities.
 */
export function orderHarness(env: () => TestWorkflowEnvironment) {
  /**
   * Runs `body` against one order on a worker with fake activities; the order is terminated
   * afterwards if the body left it running, so one failing test never stalls the next.
   * With RECORD_HISTORIES=1 and a `historyName`, the finished order's history is saved for
   * `test/replay.test.ts`, which proves later workflow code still replays it.
   */
  async function withOrder<T>(
    world: Partial<FakeWorld>,
    overrides: Parameters<typeof orderRequest>[0],
    body: (handle: Handle, fakes: Fakes) => Promise<T>,
    historyName?: string,
    policy: Partial<OrderPolicy> = {},
  ): Promise<T> {
    const fakes = fakeActivities(env(), world);
    return withWorker(env(), fakes.activities, async (taskQueue) => {
      const request = orderRequest(overrides);
      const receivedAt = new Date(await env().currentTimeMs()).toISOString();
      const handle = await env().client.workflow.start(orderWorkflow, {
        workflowId: orderWorkflowId(request.orderId),
        taskQueue,
        args: [workflowInput(request, receivedAt, { ...PRODUCTION_POLICY, ...policy })],
      });
      try {
        const result = await body(handle, fakes);
        if (historyName && process.env.RECORD_HISTORIES === '1') {
          saveHistory(historyName, await handle.fetchHistory());
          // Each shipment's own history too (a child workflow replays on its own), for those that started.
          for (let n = 1; n <= 3; n++) {
            const child = env().client.workflow.getHandle(shipmentWorkflowId(request.orderId, n));
            const history = await child.fetchHistory().catch(() => null);
            if (history) saveHistory(`${historyName}.shipment-${n}`, history);
          }
        }
        return result;
      } finally {
        const { status } = await handle.describe();
        if (status.name === 'RUNNING') await handle.terminate('test over');
        // Its shipments too: a workflow left running without its worker would hold the test server's clock.
        for (let n = 1; n <= 3; n++) {
          const child = env().client.workflow.getHandle(shipmentWorkflowId(request.orderId, n));
          const running = await child.describe().then(
            (d) => d.status.name === 'RUNNING',
            () => false,
          );
          if (running) await child.terminate('test over');
        }
      }
    });
  }

  async function runOrder(
    world: Partial<FakeWorld> = {},
    overrides: Parameters<typeof orderRequest>[0] = {},
    historyName?: string,
  ) {
    return withOrder(world, overrides, async (handle, fakes) => ({ view: await handle.result(), fakes }), historyName);
  }

  async function waitForStatus(
    handle: Handle,
    status: OrderView['status'],
    step: Duration = '10m',
    limit = 200,
  ): Promise<OrderView> {
    for (let i = 0; i < limit; i++) {
      const view = await handle.query(orderViewQuery);
      if (view.status === status) return view;
      await env().sleep(step);
    }
    throw new Error(`order never reached ${status}`);
  }

  return { withOrder, runOrder, waitForStatus };
}
