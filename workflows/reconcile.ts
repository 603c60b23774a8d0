import { ActivityFailure, log, proxyActivities } from '@temporalio/workflow';
import type { ReconcilerActivities } from '../activities/index.js';
import type { OrphanedOrder } from '../activities/reconcile.js';
import { failureMessage, formatMoney } from './outcomes.js';

/**
 * The order reconciler: finds orders whose workflow is closed (an operator terminated it, it failed
 * or timed out) or gone (never started, past retention) while their read model is not final, and
 * releases what they hold with the order workflow's own idempotent activities (their keys are the
 * order and the step, so a second run, or a cancel that already ran half-way, changes nothing).
 * A running workflow is never touched. Run every few minutes by the `reconcile-orders` Schedule
 * (workers/reconcile-schedule.ts); an operator may also start it by hand.
 */
export interface ReconcileInput {
  /** How long an order's read model and its workflow's close must be quiet before it is touched, e.g. `5m`. */
  grace: string;
  /** At most this many orders per run; the rest wait for the next run. */
  limit?: number;
  /** Only these orders (an operator settling one order now); unset: every order. */
  orderIds?: string[];
}

export interface ReconciledOrder {
  orderId: string;
  /** The read model's status before. */
  was: string;
  /** What Temporal said of the workflow: TERMINATED, FAILED, TIMED_OUT, CANCELLED, COMPLETED or NOT_FOUND. */
  workflow: string;
  /** `cancelled`: everything released. `needs_attention`: the parcel had left; the money is for a human. `failed`: will be retried by the next run. */
  outcome: 'cancelled' | 'needs_attention' | 'failed';
  released: string[];
  error?: string;
}

export interface ReconcileResult {
  /** Non-final orders older than the grace whose workflow was asked about. */
  checked: number;
  /** Orders an earlier run handed to a human, still not final. */
  awaitingHuman: number;
  orders: ReconciledOrder[];
}

const { findOrphanedOrders } = proxyActivities<ReconcilerActivities>({
  // Describes every quiet non-final order's workflow: many calls for a large backlog.
  startToCloseTimeout: '10 minutes',
  retry: { initialInterval: '5 seconds', maximumAttempts: 3 },
});

/** The same undos the order workflow runs; bounded here, since the next run tries again. */
const effects = proxyActivities<ReconcilerActivities>({
  startToCloseTimeout: '1 minute',
  retry: { initialInterval: '1 second', backoffCoefficient: 2, maximumInterval: '30 seconds', maximumAttempts: 5 },
});

export async function reconcileOrdersWorkflow(input: ReconcileInput = { grace: '5m' }): Promise<ReconcileResult> {
  const found = await findOrphanedOrders({
    grace: input.grace,
    limit: input.limit ?? 100,
    ...(input.orderIds ? { orderIds: input.orderIds } : {}),
  });
  const results: ReconciledOrder[] = [];
  for (const order of found.orphaned) {
    try {
      results.push(await reconcile(order));
    } catch (error) {
      if (!(error instanceof ActivityFailure)) throw error;
      results.push({
        orderId: order.orderId,
        was: order.status,
        workflow: order.workflow,
        outcome: 'failed',
        released: [],
        error: failureMessage(error),
      });
    }
    const last = results.at(-1)!;
    log[last.outcome === 'cancelled' ? 'info' : 'warn']('reconciled an order of a closed workflow', {
      ...last,
      released: last.released.join('; '),
    });
  }
  return { checked: found.checked, awaitingHuman: found.awaitingHuman, orders: results };
}

/** Releases everything one order holds, in the order workflow's undo order (money first), then closes its read model. */
async function reconcile(order: OrphanedOrder): Promise<ReconciledOrder> {
  const { orderId } = order;
  const released: string[] = [];
  const voidedLabels: string[] = [];
  // Money first, as the order workflow's own undos (domain/compensation.ts): a hold on the card, or
  // a capture when the goods never left.
  const { voided } = await effects.voidPayment({ orderId });
  if (voided > 0) released.push(`voided the authorization of ${formatMoney(voided, order.currency)}`);
  let refunded = 0;
  if (!order.leftWarehouse) {
    // The same key as a cancel's refund: a cancel that refunded before the Terminate is not repeated.
    ({ refunded } = await effects.refundPayment({ orderId, reason: 'cancel' }));
    if (refunded > 0) released.push(`refunded ${formatMoney(refunded, order.currency)}`);
  }
  for (const taskId of order.warehouseTaskIds) await effects.cancelWarehouseTask({ taskId });
  for (const shipmentNumber of order.unusedLabels) {
    const { voided: label } = await effects.voidLabel({ orderId, shipmentNumber });
    if (label) {
      voidedLabels.push(label);
      released.push(`voided label ${label}`);
    }
  }
  for (const waveLabel of order.unusedWaveLabels ?? []) {
    const { voided: label } = await effects.voidWaveLabel(waveLabel);
    if (label) {
      voidedLabels.push(label);
      released.push(`voided label ${label} of wave ${waveLabel.waveId}`);
    }
  }
  for (const [i, { warehouseId, lines, packed }] of order.picked.entries()) {
    await effects.requestReturnToShelf({
      taskId: `${orderId}-reshelve-reconcile-${i + 1}`,
      orderId,
      warehouseId,
      lines,
      unpack: packed,
    });
  }
  if (order.picked.length > 0) {
    await effects.returnPickedToShelf({ orderId });
    released.push(
      `re-shelved ${order.picked.flatMap((p) => p.lines.map((l) => `${l.quantity} × ${l.sku} at ${p.warehouseId}`)).join(', ')}`,
    );
  }
  await effects.releaseStock({ orderId });
  if (order.held.length > 0) released.push(`released ${order.held.join(', ')}`);
  const why = `order workflow ${order.workflow === 'NOT_FOUND' ? 'not found' : order.workflow.toLowerCase()} while the order was ${order.status}`;
  if (order.leftWarehouse) {
    const reason = `${why}; its parcel had left the warehouse, so tracking, delivery and returns no longer run: settle it by hand (reset the workflow, or refund)`;
    await effects.recordReconciled({ orderId, outcome: 'needs_attention', reason, released, voidedLabels });
    return { orderId, was: order.status, workflow: order.workflow, outcome: 'needs_attention', released };
  }
  const { recorded } = await effects.recordReconciled({
    orderId,
    outcome: 'cancelled',
    reason: why,
    released,
    voidedLabels,
  });
  if (recorded) {
    await effects.notifyCustomer({
      orderId,
      kind: 'cancelled',
      recipient: order.recipient,
      subject: `Order ${orderId} was cancelled`,
      body:
        refunded > 0
          ? 'Your order was cancelled and your payment refunded.'
          : 'Your order was cancelled; nothing was charged and the hold on your card was released.',
    });
  }
  return { orderId, was: order.status, workflow: order.workflow, outcome: 'cancelled', released };
}
