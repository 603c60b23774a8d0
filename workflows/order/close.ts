import {
  ActivityFailure,
  allHandlersFinished,
  CancellationScope,
  CancelledFailure,
  log,
  patched,
} from '@temporalio/workflow';
import { cancellationRefusal, TEMPORAL_OPERATOR } from '../../domain/cancellation.js';
import { undoSequence } from '../../domain/compensation.js';
import type { OrderView } from '../../domain/order.js';
import { failureMessage, OrderClosing } from '../outcomes.js';
import { Patch } from '../patches.js';
import { mustComplete, steps } from '../proxies.js';
import type { Order, Undo } from './state.js';

/**
 * Runs the order's lifecycle to its end. Cancel in Temporal Web (or `temporal workflow cancel`)
 * cancels the root scope: the lifecycle runs shielded from it, in a scope of its own, and takes it
 * as an admin's cancel through the API. An order that must not go on closes with its undos. The
 * run ends only when every message handler has, and Canceled in Temporal Web when an operator
 * cancelled it there.
 */
export async function runToTheEnd(order: Order, lifecycle: () => Promise<void>): Promise<OrderView> {
  let scope: CancellationScope | undefined;
  let operatorCancelHandled: Promise<void> | undefined;
  // A shipment inside its order's workflow hears an operator's Cancel from its order, as a child does.
  if (!order.inOrderWorkflow)
    void CancellationScope.current().cancelRequested.catch(() => {
      operatorCancelHandled = onOperatorCancel(order, () => scope?.cancel());
    });
  try {
    await CancellationScope.nonCancellable(async () => {
      scope = new CancellationScope();
      await scope.run(lifecycle);
    });
  } catch (error) {
    if (!(error instanceof OrderClosing)) throw error;
    await CancellationScope.nonCancellable(() => close(order, error));
  }
  // Nothing ends under a caller still waiting for its answer, nor under a note still being written.
  await CancellationScope.nonCancellable(async () => {
    await operatorCancelHandled;
    // The handlers are the order's (which may wait for this shipment): the order waits for them.
    if (!order.inOrderWorkflow) await order.wait(allHandlersFinished);
    // What the last handlers recorded (lean: held until now); a shipment's goes back with its result.
    if (!order.asShipment) await order.flush();
  });
  if (order.cancelledByOperator && order.view.status === 'cancelled') {
    throw new CancelledFailure('cancelled by an operator in Temporal Web; every effect was undone');
  }
  return order.view;
}

/**
 * An operator's Cancel follows the API's rules for an admin: before hand-over the order is
 * cancelled with every undo; after it the cancel is refused and the refusal is on the timeline.
 * (Orders whose history has a Cancel from before this rule keep the old behaviour: every step
 * was cancelled and the run ended with nothing undone.)
 */
async function onOperatorCancel(order: Order, cancelEverything: () => void): Promise<void> {
  if (!order.lean && !patched(Patch.OperatorCancel)) return cancelEverything();
  if (order.closed || order.cancelRequest) return;
  const { status } = order.view;
  const refusal = cancellationRefusal(
    { status, captured: order.captured, leftWarehouse: order.leftWarehouse, closing: order.closing },
    TEMPORAL_OPERATOR,
  );
  if (refusal) {
    log.warn('Cancel in Temporal Web refused', { orderId: order.orderId, reason: refusal.message });
    await CancellationScope.nonCancellable(async () => {
      await order.record('cancel_refused', status, `Cancel in Temporal Web refused: ${refusal.message}`);
      await order.flush();
    });
    return;
  }
  order.cancelledByOperator = true;
  order.cancelRequest = { reason: 'cancelled in Temporal Web', requestedBy: TEMPORAL_OPERATOR };
  order.activeStep?.cancel();
  await CancellationScope.nonCancellable(() => order.children.cancelAll(order.cancelRequest));
}

/** Closes the order early: undoes what was done, then records the outcome and tells the customer. */
export async function close(order: Order, outcome: OrderClosing): Promise<void> {
  const { view } = order;
  order.closing = true;
  const undone =
    order.lean || patched(Patch.UndoMoneyFirst) ? await undoEachOnItsOwn(order) : await undoNewestFirst(order.undo);
  const { cancelRequest } = order;
  const by = outcome.status === 'cancelled' && cancelRequest ? cancelRequest.requestedBy : null;
  if (by && cancelRequest)
    view.cancellation = { reason: cancelRequest.reason, requestedBy: by.id, free: !order.captured };
  view.attention = null;
  const who = by ? `by ${by.id} (${by.role})` : null;
  await order.record(outcome.type, outcome.status, [outcome.detail, who, ...undone].filter(Boolean).join('; '));
  await order.notify(outcome.notice);
  // Written before a cancel's caller is answered (lean: it was held).
  await order.flush();
  order.closed = true;
}

/** Before Patch.UndoMoneyFirst: newest first, each retried until it succeeds, one blocking the rest. */
async function undoNewestFirst(undo: Undo[]): Promise<string[]> {
  const undone: string[] = [];
  for (const step of undo.reverse()) {
    const what = await step.run(mustComplete);
    if (what) undone.push(what);
  }
  return undone;
}

/**
 * Runs every undo in `undoSequence` order (money first), each with bounded retries and on its
 * own: one that keeps failing does not stop the others. Those that failed park the order with
 * their reasons until an operator retries them (again and again, if need be).
 */
async function undoEachOnItsOwn(order: Order): Promise<string[]> {
  const undone: string[] = [];
  let pending = undoSequence(order.undo);
  for (;;) {
    const failed: { step: Undo; why: string }[] = [];
    for (const step of pending) {
      try {
        // Bounded like a forward step: one that keeps failing parks instead of blocking the rest.
        const what = await step.run(steps);
        if (what) undone.push(what);
      } catch (error) {
        if (!(error instanceof ActivityFailure)) throw error;
        failed.push({ step, why: `${step.name}: ${failureMessage(error)}` });
      }
    }
    if (failed.length === 0) return undone;
    await parkUndo(order, failed.map(({ why }) => why).join('; '));
    pending = failed.map(({ step }) => step);
  }
}

/** Parks a closing order until an operator retries its failed undos (a cancel is already under way). */
async function parkUndo(order: Order, reason: string): Promise<void> {
  const { view } = order;
  const previous = view.status;
  order.parked = true;
  order.undoParked = true;
  order.retryRequested = false;
  view.attention = `could not undo: ${reason}`;
  log.warn('an undo needs attention', { orderId: order.orderId, reason });
  await order.record('needs_attention', 'needs_attention', view.attention);
  await order.wait(() => order.retryRequested);
  order.parked = false;
  order.undoParked = false;
  view.attention = null;
  await order.record('undo_retried', previous);
  await order.flush();
}
