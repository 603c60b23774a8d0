import { ApplicationFailure, CancellationScope, condition, log, setHandler } from '@temporalio/workflow';
import { cancellationRefusal } from '../../domain/cancellation.js';
import { FailureType } from '../../domain/failures.js';
import {
  cancelOrderUpdate,
  carrierEventSignal,
  orderViewQuery,
  requestReturnUpdate,
  retryUpdate,
  returnReceivedSignal,
  stockArrivedSignal,
  warehouseEventSignal,
} from '../../domain/messages.js';
import { authorizeReturn, returnRefusalOf } from './returns.js';
import type { Order } from './state.js';

/**
 * What the order hears from outside: the view for readers; the warehouse's, carriers' and stock
 * signals; cancel, return and retry requests as updates (validated before they are accepted). Waits
 * in handlers are shielded from an operator's Cancel in Temporal Web, so no caller loses its answer.
 */
export function handleMessages(order: Order): void {
  const { orderId, view } = order;
  setHandler(orderViewQuery, () => view);
  setHandler(warehouseEventSignal, (event) => {
    if (event.orderId === orderId) order.warehouseEvents.set(event.taskId, event);
  });
  setHandler(carrierEventSignal, (event) => void order.carrierEvents.push(event));
  setHandler(stockArrivedSignal, () => {
    order.stockArrived = true;
  });
  setHandler(returnReceivedSignal, ({ returnId, ...receipt }) => {
    if (!order.receipts.has(returnId)) order.receipts.set(returnId, receipt);
  });

  setHandler(
    cancelOrderUpdate,
    async (cancel) => {
      order.cancelRequest ??= cancel;
      // A step in flight stops; its activity finishes or acknowledges before the undos run.
      order.activeStep?.cancel();
      await CancellationScope.nonCancellable(() => condition(() => order.closed || order.undoParked));
      // An undo that needs a human: the caller learns it now (needs_attention, with the reason).
      if (!order.closed) return view;
      if (view.status !== 'cancelled')
        throw ApplicationFailure.nonRetryable(`order closed as ${view.status}`, FailureType.OrderClosed);
      return view;
    },
    {
      validator: ({ requestedBy }) => {
        // A cancel already under way: this one waits for it and gets the same answer.
        if (order.cancelRequest && !order.closed) return;
        const state = {
          status: view.status,
          captured: order.captured,
          leftWarehouse: order.leftWarehouse,
          closing: order.closing,
        };
        const refusal = cancellationRefusal(state, requestedBy);
        if (refusal) throw ApplicationFailure.nonRetryable(refusal.message, refusal.failureType);
      },
    },
  );

  setHandler(
    requestReturnUpdate,
    (requested) => CancellationScope.nonCancellable(() => authorizeReturn(order, requested)),
    {
      validator: ({ items }) => {
        const refusal = returnRefusalOf(order, items);
        if (refusal) throw ApplicationFailure.nonRetryable(refusal, FailureType.ReturnNotAllowed);
      },
    },
  );

  setHandler(
    retryUpdate,
    async ({ requestedBy }) => {
      log.info('operator retries the parked step', { orderId, by: requestedBy.id });
      order.retryRequested = true;
      await CancellationScope.nonCancellable(() => condition(() => !order.parked));
      return view;
    },
    {
      validator: (_request) => {
        if (!order.parked)
          throw ApplicationFailure.nonRetryable(
            `order is ${view.status}, not parked in needs_attention`,
            FailureType.NothingToRetry,
          );
      },
    },
  );
}
