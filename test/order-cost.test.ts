import type { WorkflowClient } from '@temporalio/client';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { historyFromJSON } from '@temporalio/common/lib/proto-utils.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { orderWorkflowId, shipmentWorkflowId } from '../domain/ids.js';
import { OrderStatusAttribute } from '../domain/search-attributes.js';
import { orderWorkflow } from '../workflows/order.js';
import { fakeActivities } from './support/fake-activities.js';
import { committedHistories } from './support/histories.js';
import { type OrderCost, orderCost } from '../scripts/order-cost.js';
import { orderRequest, PRODUCTION_POLICY, workflowInput } from './support/orders.js';
import { timeSkippingEnvironment } from './support/temporal.js';
import { DEFAULT_WAVE_SETTINGS } from '../activities/waves.js';
import { waveWorkflowId, wavesWorkflowId } from '../domain/waves.js';
import { warehouseOfItsOwn } from './support/database.js';
import { startSystem } from './support/system.js';
import { withWorker } from './support/workers.js';

/**
 * The cost of an order (docs/design.md, "The cost of an order"): a happy-path order from one
 * warehouse, counted over its history (its only shipment runs inside it, Patch.LoneShipmentInOrder)
 * and, for a split order, its shipments', the way Temporal Cloud bills (scripts/order-cost.ts says
 * what counts). Bookkeeping that creeps back in fails here.
 */
// The target is 90 events and 25 actions. Patch.LoneShipmentInOrder measured 77 events and 22
// actions (Patch.FeedbackInOutbox, with a child shipment: 88–91 and 23); Patch.SharedTimerAndWrites
// 77–80 and 22 (here the fake warehouse answers before the order waits, so it saves nothing). The budget keeps two
// workflow tasks' headroom, as the count varies with when the simulated warehouse's and carrier's
// signals land against the activity that caused them. Actions do not vary.
const BUDGET = { events: 83, actions: 22 };
// Picked in a wave, end to end in real time: 143 events and 39 actions an order measured (with a
// child shipment: 180–198 and 40–45; docs/design.md says why a wave costs more); held with
// headroom, as the count follows how the warehouse's answers fall between the order's waits.
const WAVE_BUDGET = { events: 165, actions: 45 };
// The same single-warehouse order end to end on an idle dev server, each answer reaching the order
// on its own (as minutes apart in a real warehouse): 84–87 events and 28 actions measured with
// Patch.SharedTimerAndWrites (before it 90–93 and 31–32; with a child shipment 129–140 and 34–37), a
// read-model write before each wait included (docs/design.md).
const PLAIN_BUDGET = { events: 96, actions: 31 };

let env: TestWorkflowEnvironment;

beforeAll(async () => {
  env = await timeSkippingEnvironment();
});

afterAll(async () => {
  await env?.teardown();
});

describe('the cost of an order', () => {
  it('counts the committed single-warehouse order from before the lean bookkeeping: 300 events, 60 actions', () => {
    const named = (name: string) => historyFromJSON(committedHistories().find((h) => h.name === name)!.json);
    const before = orderCost([
      named('order-shipments-single-warehouse'),
      named('order-shipments-single-warehouse.shipment-1'),
    ]);
    expect(before.eventsPerHistory).toEqual([195, 105]);
    expect(before.actionsByKind).toEqual({
      workflowStarted: 2,
      // The shipment's start: the child's execution, beside its WorkflowExecutionStarted.
      childWorkflows: 1,
      activities: 27,
      activityRetries: 0,
      timers: 3,
      signals: 14,
      // 13 upserts, 2 of them `TemporalChangeVersion` only (exempt); their 2 patch markers, each in a workflow task of its own.
      upserts: 11,
      markers: 2,
      updates: 0,
    });
    expect(before.actions).toBe(60);
  });

  it(`keeps a happy single-shipment order within ${BUDGET.events} history events and ${BUDGET.actions} billable actions`, async () => {
    const fakes = fakeActivities(env, {});
    const histories = await withWorker(env, fakes.activities, async (taskQueue) => {
      const request = orderRequest({});
      const receivedAt = new Date(await env.currentTimeMs()).toISOString();
      const handle = await env.client.workflow.start(orderWorkflow, {
        workflowId: orderWorkflowId(request.orderId),
        taskQueue,
        args: [workflowInput(request, receivedAt, PRODUCTION_POLICY)],
        // As the API starts it (api/orders/orders.ts).
        typedSearchAttributes: [{ key: OrderStatusAttribute, value: 'received' }],
      });
      const view = await handle.result();
      expect(view.status).toBe('completed');
      expect(view.shipments).toHaveLength(1);
      return orderHistories(env.client.workflow, request.orderId);
    });
    // Its only shipment ran inside the order's workflow (Patch.LoneShipmentInOrder): one history.
    expect(histories).toHaveLength(1);
    const cost = orderCost(histories);
    console.info('cost of a happy single-shipment order', JSON.stringify(cost));
    expect(cost.events).toBeLessThanOrEqual(BUDGET.events);
    expect(cost.actions).toBeLessThanOrEqual(BUDGET.actions);
  });

  it('counts a happy order end to end, each answer on its own: the lone shipment reports before each wait', async () => {
    const policy = { ...PRODUCTION_POLICY, cancellationBuffer: '2s', returnWindow: '3s', wavePicking: false };
    const system = await startSystem({ policy });
    try {
      const { sku } = await warehouseOfItsOwn(system.db, 20, 'wh-plain');
      const request = orderRequest({ items: [{ sku, quantity: 1 }] });
      expect((await system.api('POST', '/orders', request)).status).toBe(202);
      const view = await system.waitForOrder(request.orderId, (status) => status === 'completed', 120_000);
      expect(view.shipments).toHaveLength(1);
      const histories = await orderHistories(system.env.client.workflow, request.orderId);
      expect(histories).toHaveLength(1);
      const cost = orderCost(histories);
      console.info('cost of a happy order end to end', JSON.stringify(cost));
      expect(cost.events).toBeLessThanOrEqual(PLAIN_BUDGET.events);
      expect(cost.actions).toBeLessThanOrEqual(PLAIN_BUDGET.actions);
    } finally {
      await system.stop();
    }
  }, 300_000);

  it('counts a happy order picked in a wave (WAVE_PICKING, the production default): order, shipment and its share of the wave', async () => {
    // End to end, as production runs it: API, worker, simulated warehouse and carriers on a dev server.
    // Three orders make one wave; each order's share of the wave's and the warehouse's waves
    // workflow's histories is a third. The policy's windows are short so the test ends in seconds.
    const policy = { ...PRODUCTION_POLICY, cancellationBuffer: '2s', returnWindow: '3s', wavePicking: true };
    const system = await startSystem({
      policy,
      waves: { ...DEFAULT_WAVE_SETTINGS, waveSize: 3, maxWait: '15s', cutoffs: {}, pickSla: '1m', pickAttempts: 2 },
    });
    try {
      const { warehouseId, sku } = await warehouseOfItsOwn(system.db, 20, 'wh-cost');
      const requests = [1, 2, 3].map((quantity) => orderRequest({ items: [{ sku, quantity }] }));
      for (const request of requests) expect((await system.api('POST', '/orders', request)).status).toBe(202);
      const views = [];
      for (const request of requests)
        views.push(await system.waitForOrder(request.orderId, (status) => status === 'completed', 120_000));
      const waveId = views[0]!.shipments[0]!.waveId!;
      expect(views.map((view) => view.shipments[0]!.waveId)).toEqual([waveId, waveId, waveId]);
      const history = (workflowId: string) => system.env.client.workflow.getHandle(workflowId).fetchHistory();
      const orders: OrderCost[] = [];
      for (const request of requests)
        orders.push(orderCost(await orderHistories(system.env.client.workflow, request.orderId)));
      const wave = orderCost([await history(waveWorkflowId(waveId)), await history(wavesWorkflowId(warehouseId))]);
      const perOrder = (pick: (cost: typeof wave) => number) =>
        Math.round((orders.reduce((sum, cost) => sum + pick(cost), 0) + pick(wave)) / requests.length);
      const cost = {
        events: perOrder((c) => c.events),
        actions: perOrder((c) => c.actions),
        order: orders.map((c) => c.eventsPerHistory),
        waveAndWaves: wave.eventsPerHistory,
        waveActions: wave.actionsByKind,
        actionsByKind: orders[0]!.actionsByKind,
      };
      console.info('cost of a happy order picked in a wave (per order)', JSON.stringify(cost));
      expect(cost.events).toBeLessThanOrEqual(WAVE_BUDGET.events);
      expect(cost.actions).toBeLessThanOrEqual(WAVE_BUDGET.actions);
    } finally {
      await system.stop();
    }
  }, 300_000);
});

/** An order's histories: its own, then each shipment's that ran as a child workflow (a lone one runs inside the order's). */
async function orderHistories(client: WorkflowClient, orderId: string) {
  const histories = [await client.getHandle(orderWorkflowId(orderId)).fetchHistory()];
  for (let n = 1; ; n++) {
    const shipment = await client
      .getHandle(shipmentWorkflowId(orderId, n))
      .fetchHistory()
      .catch(() => null);
    if (!shipment) return histories;
    histories.push(shipment);
  }
}
