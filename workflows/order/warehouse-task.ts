import { log, patched } from '@temporalio/workflow';
import { durationMs } from '../../domain/durations.js';
import { packTaskId, pickTaskId } from '../../domain/ids.js';
import type { WarehouseEvent } from '../../domain/schemas.js';
import { Patch } from '../patches.js';
import type { Order } from './state.js';

/**
 * Asks the warehouse for a task and waits for it to report the task done, within the SLA. A task
 * not done in time is asked for again after the SLA, one done wrong (per `accept`) at once; after
 * the last attempt the order is parked until the warehouse reports any attempt done or an operator
 * retries.
 */
export async function warehouseTask(
  order: Order,
  kind: 'pick' | 'pack',
  ask: (taskId: string) => Promise<void>,
  accept: (event: WarehouseEvent) => boolean = () => true,
): Promise<WarehouseEvent> {
  const { orderId, policy } = order;
  const taskPrefix = `${kind === 'pick' ? pickTaskId(order.owner) : packTaskId(order.owner)}-`;
  const completedType = kind === 'pick' ? 'pick_completed' : 'pack_completed';
  // Only answers to the tasks asked for here count: an earlier short pick's answer is settled.
  const askedHere: string[] = [];
  const seen = new Set<string>();
  let accepted: WarehouseEvent | undefined;
  const askAgainAtOnce = order.lean || patched(Patch.RejectedTaskAskedAgainAtOnce);
  let rejected = false;
  const done = () => {
    for (const [taskId, event] of order.warehouseEvents) {
      if (!askedHere.includes(taskId) || event.type !== completedType || seen.has(taskId)) continue;
      seen.add(taskId);
      if (accept(event)) {
        accepted = event;
        return true;
      }
      rejected = true;
      log.warn('warehouse task done wrong; asking again', { orderId, taskId });
    }
    return false;
  };
  for (;;) {
    for (let attempt = 1; attempt <= policy.warehouseTaskAttempts; attempt++) {
      const taskId = `${taskPrefix}${order.requestedTasks.filter((id) => id.startsWith(taskPrefix)).length + 1}`;
      order.requestedTasks.push(taskId);
      askedHere.push(taskId);
      await order.runStep(`ask the warehouse to ${kind}`, () => ask(taskId));
      rejected = false;
      // A rejected answer asks again at once; a late one after the SLA.
      const answered = () => done() || (askAgainAtOnce && rejected) || order.cancelRequest !== null;
      const sla = durationMs(policy.warehouseTaskSla);
      const summary = `${kind} SLA (attempt ${attempt})`;
      if (order.sharedTimerAndWrites) await order.deadlines.wait(order, answered, Date.now() + sla, summary);
      else await order.wait(answered, sla, { summary });
      order.checkpoint();
      if (accepted) return accepted;
      const wrong = askAgainAtOnce ? rejected : seen.size > 0;
      await order.record(
        wrong ? `${kind}_rejected` : `${kind}_late`,
        order.view.status,
        wrong ? 'done, but it failed the check' : `${taskId} not done within ${policy.warehouseTaskSla}`,
      );
      // (Before the patch every answer was looked at again on each attempt, a rejected one too.)
      if (!askAgainAtOnce) seen.clear();
    }
    const how = await order.park(
      `the warehouse did not complete the ${kind} after ${policy.warehouseTaskAttempts} attempts`,
      done,
    );
    if (how === 'resumed') return accepted!;
  }
}
