import {
  ActivityCancellationType,
  type ActivityOptions,
  proxyActivities,
  proxyLocalActivities,
} from '@temporalio/workflow';
import type { OrderActivities, WaveActivities } from '../activities/index.js';
import { activitySummary } from './activity-summaries.js';

type ActivityProxy = ((...args: unknown[]) => Promise<unknown>) & {
  executeWithOptions: (options: object, args: unknown[]) => Promise<unknown>;
};

/**
 * The proxy with a summary on every call (workflows/activity-summaries.ts): `steps.capturePayment(x)`
 * schedules the same activity, with the same options, and says what it does for this order.
 */
function withSummaries<A extends object>(activities: A): A {
  return new Proxy(activities, {
    get(target, name, receiver) {
      const activity = Reflect.get(target, name, receiver) as unknown;
      if (typeof name !== 'string' || typeof activity !== 'function' || !('executeWithOptions' in activity))
        return activity;
      const proxied = activity as ActivityProxy;
      const call = (...args: unknown[]) => {
        const summary = activitySummary(name, args);
        return summary ? proxied.executeWithOptions({ summary }, args) : proxied(...args);
      };
      return Object.assign(call, { executeWithOptions: proxied.executeWithOptions });
    },
  });
}
import { FailureType } from '../domain/failures.js';

// The two ways the order workflow runs activities.

/**
 * Forward steps retry transient failures with backoff, but not forever: a step still failing after
 * its attempts parks the order in needs_attention until an operator retries it. A cancelled step
 * waits for its activity to finish or acknowledge, so no effect lands after its undo ran. An input
 * the worker cannot decrypt (the SDK reports it as retryable) parks at once: only an operator
 * restoring the key helps. (A retry policy is not matched on replay: no patch needed.)
 */
const forwardStep: ActivityOptions = {
  startToCloseTimeout: '1 minute',
  retry: {
    initialInterval: '1 second',
    backoffCoefficient: 2,
    maximumInterval: '1 minute',
    maximumAttempts: 10,
    nonRetryableErrorTypes: [FailureType.UnknownEncryptionKey],
  },
  cancellationType: ActivityCancellationType.WAIT_CANCELLATION_COMPLETED,
};

/** Retried until it succeeds. */
const untilItSucceeds: ActivityOptions = {
  startToCloseTimeout: '1 minute',
  retry: { initialInterval: '1 second', backoffCoefficient: 2, maximumInterval: '5 minutes' },
};

export const steps = withSummaries(proxyActivities<OrderActivities>(forwardStep));

/**
 * Undos and bookkeeping must happen eventually: they retry until they succeed (one whose input
 * cannot be decrypted succeeds once the key is back in PAYLOAD_ENCRYPTION_KEYS).
 */
export const mustComplete = withSummaries(proxyActivities<OrderActivities>(untilItSucceeds));

/**
 * The order's read-model write before a wait (Patch.FeedbackInOutbox), as a local activity: it runs
 * in the workflow task that then waits and leaves one marker, instead of three events and a task of
 * its own. Billed the same (a marker is an action). Retried until it succeeds, like `mustComplete`;
 * a Postgres that stays away past a minute moves the retries onto timers.
 */
export const localBookkeeping = withSummaries(
  proxyLocalActivities<Pick<OrderActivities, 'recordOrderUpdate'>>({
    startToCloseTimeout: '1 minute',
    retry: untilItSucceeds.retry!,
  }),
);

/** The wave workflows' activities: bookkeeping retries until it succeeds; the pick and label steps as forward steps. */
export const waveBookkeeping = withSummaries(proxyActivities<WaveActivities>(untilItSucceeds));

export const waveSteps = withSummaries(
  proxyActivities<WaveActivities>({
    startToCloseTimeout: '2 minutes',
    retry: { initialInterval: '1 second', backoffCoefficient: 2, maximumInterval: '1 minute', maximumAttempts: 10 },
  }),
);

/** A shipment's own steps in its warehouse's waves (rate, record the wave's label, void it): forward steps, like `steps`. */
export const shipmentWaveSteps = withSummaries(proxyActivities<WaveActivities>(forwardStep));
