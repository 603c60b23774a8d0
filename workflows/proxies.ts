import { ActivityCancellationType, proxyActivities } from '@temporalio/workflow';
import type { OrderActivities } from '../activities/index.js';
import { FailureType } from '../domain/failures.js';

// The two ways the order workflow runs activities.

/**
 * Forward steps retry transient failures with backoff, but not forever: a step still failing after
 * its attempts parks the order in needs_attention until an operator retries it. A cancelled step
 * waits for its activity to finish or acknowledge, so no effect lands after its undo ran. An input
 * the worker cannot decrypt (the SDK reports it as retryable) parks at once: only an operator
 * restoring the key helps. (A retry policy is not matched on replay: no patch needed.)
 */
export const steps = proxyActivities<OrderActivities>({
  startToCloseTimeout: '1 minute',
  retry: {
    initialInterval: '1 second',
    backoffCoefficient: 2,
    maximumInterval: '1 minute',
    maximumAttempts: 10,
    nonRetryableErrorTypes: [FailureType.UnknownEncryptionKey],
  },
  cancellationType: ActivityCancellationType.WAIT_CANCELLATION_COMPLETED,
});

/**
 * Undos and bookkeeping must happen eventually: they retry until they succeed (one whose input
 * cannot be decrypted succeeds once the key is back in PAYLOAD_ENCRYPTION_KEYS).
 */
export const mustComplete = proxyActivities<OrderActivities>({
  startToCloseTimeout: '1 minute',
  retry: { initialInterval: '1 second', backoffCoefficient: 2, maximumInterval: '5 minutes' },
});
