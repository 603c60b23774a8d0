import { ActivityCancellationType, proxyActivities } from '@temporalio/workflow';
import type { OrderActivities, WaveActivities } from '../activities/index.js';

// The two ways the order workflow runs activities.

/**
 * Forward steps retry transient failures with backoff, but not forever: a step still failing after
 * its attempts parks the order in needs_attention until an operator retries it. A cancelled step
 * waits for its activity to finish or acknowledge, so no effect lands after its undo ran.
 */
export const steps = proxyActivities<OrderActivities>({
  startToCloseTimeout: '1 minute',
  retry: { initialInterval: '1 second', backoffCoefficient: 2, maximumInterval: '1 minute', maximumAttempts: 10 },
  cancellationType: ActivityCancellationType.WAIT_CANCELLATION_COMPLETED,
});

/** Undos and bookkeeping must happen eventually: they retry until they succeed. */
export const mustComplete = proxyActivities<OrderActivities>({
  startToCloseTimeout: '1 minute',
  retry: { initialInterval: '1 second', backoffCoefficient: 2, maximumInterval: '5 minutes' },
});

/** The wave workflows' activities: bookkeeping retries until it succeeds; the pick and label steps as forward steps. */
export const waveBookkeeping = proxyActivities<WaveActivities>({
  startToCloseTimeout: '1 minute',
  retry: { initialInterval: '1 second', backoffCoefficient: 2, maximumInterval: '5 minutes' },
});

export const waveSteps = proxyActivities<WaveActivities>({
  startToCloseTimeout: '2 minutes',
  retry: { initialInterval: '1 second', backoffCoefficient: 2, maximumInterval: '1 minute', maximumAttempts: 10 },
});
