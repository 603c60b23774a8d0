import type { WorkerOptions } from '@temporalio/worker';
import type { Config } from '../config/index.js';

/** The worker options the `WORKER_*` tuning settings stand for (docs/benchmarks.md says how they were chosen). */
export type WorkerTuning = Pick<
  WorkerOptions,
  | 'maxConcurrentActivityTaskExecutions'
  | 'maxConcurrentWorkflowTaskExecutions'
  | 'maxCachedWorkflows'
  | 'workflowTaskPollerBehavior'
  | 'activityTaskPollerBehavior'
  | 'tuner'
>;

export function workerTuning(
  settings: Pick<
    Config,
    | 'WORKER_ACTIVITY_CONCURRENCY'
    | 'WORKER_WORKFLOW_CONCURRENCY'
    | 'WORKER_CACHED_WORKFLOWS'
    | 'WORKER_POLLERS'
    | 'WORKER_TUNER'
  >,
): WorkerTuning {
  const pollers: WorkerOptions['workflowTaskPollerBehavior'] =
    settings.WORKER_POLLERS === 'autoscaling'
      ? { type: 'autoscaling' }
      : { type: 'simple-maximum', maximum: settings.WORKER_POLLERS };
  const common = {
    maxCachedWorkflows: settings.WORKER_CACHED_WORKFLOWS,
    workflowTaskPollerBehavior: pollers,
    activityTaskPollerBehavior: pollers,
  };
  if (settings.WORKER_TUNER === 'fixed')
    return {
      ...common,
      maxConcurrentActivityTaskExecutions: settings.WORKER_ACTIVITY_CONCURRENCY,
      maxConcurrentWorkflowTaskExecutions: settings.WORKER_WORKFLOW_CONCURRENCY,
    };
  return {
    ...common,
    // The tuner never hands out more activity slots than the database pool has connections for (config: workerDatabasePoolSize).
    tuner: {
      tunerOptions: { targetMemoryUsage: 0.8, targetCpuUsage: 0.9 },
      activityTaskSlotOptions: { minimumSlots: 1, maximumSlots: settings.WORKER_ACTIVITY_CONCURRENCY },
      workflowTaskSlotOptions: { minimumSlots: 2, maximumSlots: settings.WORKER_WORKFLOW_CONCURRENCY },
      localActivityTaskSlotOptions: { minimumSlots: 1, maximumSlots: settings.WORKER_ACTIVITY_CONCURRENCY },
    },
  };
}
