import { type Client, ScheduleAlreadyRunning, type ScheduleOptions, ScheduleOverlapPolicy } from '@temporalio/client';
import { durationMs } from '../domain/durations.js';
import { TASK_QUEUE } from '../domain/ids.js';
import type { reconcileOrdersWorkflow } from '../workflows/reconcile.js';

/** The one Schedule that runs the order reconciler (workflows/reconcile.ts). */
export const RECONCILE_SCHEDULE_ID = 'reconcile-orders';

/**
 * Creates the reconciler's Schedule, or brings an existing one to these settings (keeping an
 * operator's pause and note). Every worker calls it at start: whichever is first creates it, the
 * others update it to the same thing, so it exists wherever a worker runs and follows RECONCILE_EVERY
 * and RECONCILE_GRACE after a deploy. Overlaps are skipped: one sweep at a time.
 */
export async function ensureReconcileSchedule(
  client: Client,
  settings: { every: string; grace: string },
): Promise<'created' | 'updated'> {
  const options = {
    scheduleId: RECONCILE_SCHEDULE_ID,
    spec: { intervals: [{ every: durationMs(settings.every) }] },
    action: {
      type: 'startWorkflow',
      workflowType: 'reconcileOrdersWorkflow',
      workflowId: RECONCILE_SCHEDULE_ID,
      taskQueue: TASK_QUEUE,
      args: [{ grace: settings.grace }] as Parameters<typeof reconcileOrdersWorkflow>,
      workflowExecutionTimeout: '1 hour',
    },
    policies: { overlap: ScheduleOverlapPolicy.SKIP, catchupWindow: '1 minute' },
  } satisfies ScheduleOptions;
  try {
    await client.schedule.create(options);
    return 'created';
  } catch (error) {
    if (!(error instanceof ScheduleAlreadyRunning)) throw error;
  }
  await client.schedule.getHandle(RECONCILE_SCHEDULE_ID).update((previous) => ({
    spec: options.spec,
    action: options.action,
    policies: options.policies,
    state: { paused: previous.state.paused, note: previous.state.note },
  }));
  return 'updated';
}
