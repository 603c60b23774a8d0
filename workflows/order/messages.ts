import {
  ApplicationFailure,
  CancellationScope,
  condition,
  log,
  setHandler,
  type SignalDefinition,
} from '@temporalio/workflow';
import { shipmentOfTask } from '../../domain/ids.js';
import { cancellationRefusal } from '../../domain/cancellation.js';
import { FailureType } from '../../domain/failures.js';
import {
  cancelOrderUpdate,
  carrierEventSignal,
  orderViewQuery,
  requestReturnUpdate,
  retryShipmentSignal,
  retryUpdate,
  returnReceivedSignal,
  shipmentReportSignal,
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
  // A shipment's event that reached the order (a party that knows only the order) goes on to the shipment.
  const forward = <T>(n: number | undefined, signal: SignalDefinition<[T]>, event: T) => {
    if (n === undefined || !order.children.handles.has(n)) return false;
    void order.children.signal(n, signal, event);
    return true;
  };
  setHandler(warehouseEventSignal, (event) => {
    if (event.orderId !== orderId) return;
    if (order.shipmentsShape && forward(shipmentOfTask(orderId, event.taskId), warehouseEventSignal, event)) return;
    order.warehouseEvents.set(event.taskId, event);
  });
  setHandler(carrierEventSignal, (event) => {
    const n = view.shipments.findIndex((s) => s.trackingNumber === event.trackingNumber);
    // A shipment in this workflow may hear its parcel's first scans before its report names the parcel.
    if (order.shipmentsShape && forward(n + 1 || order.children.inOrder, carrierEventSignal, event)) return;
    order.carrierEvents.push(event);
  });
  setHandler(stockArrivedSignal, (arrived) => {
    order.stockArrived = true;
    view.shipments.forEach((s, i) => s.status === 'backordered' && forward(i + 1, stockArrivedSignal, arrived));
  });
  setHandler(returnReceivedSignal, (received) => {
    const { returnId, ...receipt } = received;
    if (order.shipmentsShape && forward(shipmentOfTask(orderId, returnId), returnReceivedSignal, received)) return;
    if (!order.receipts.has(returnId)) order.receipts.set(returnId, receipt);
  });
  // A shipment sends what happened since it last waited in one signal (Patch.LeanBookkeeping).
  setHandler(
    shipmentReportSignal,
    ({ earlier = [], ...report }) => void order.children.reports.push(...earlier, report),
  );

  setHandler(
    cancelOrderUpdate,
    async (cancel) => {
      order.cancelRequest ??= cancel;
      // A step in flight stops; its activity finishes or acknowledges before the undos run.
      order.activeStep?.cancel();
      // Shipments still in a warehouse are undone; those with a carrier are left to returns.
      await CancellationScope.nonCancellable(async () => {
        await order.children.cancelAll(order.cancelRequest);
        await condition(() => order.closed || order.undoParked || order.children.cancelSettled);
      });
      // Every shipment reached its carrier before the cancel reached it: nothing was cancelled, and
      // the caller is told so as the validator would have (older orders answered with the view).
      if (
        !order.closed &&
        order.lean &&
        order.children.cancelSettled &&
        !view.shipments.some((s) => s.status === 'cancelled')
      ) {
        const refusal = cancellationRefusal({ ...cancellable(order), leftWarehouse: true }, cancel.requestedBy);
        if (refusal) throw ApplicationFailure.nonRetryable(refusal.message, refusal.failureType);
      }
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
        const refusal = cancellationRefusal(cancellable(order), requestedBy);
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
      for (const [n, parked] of order.children.parked)
        if (parked) await order.children.signal(n, retryShipmentSignal, { requestedBy });
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

/** What the cancellation rule looks at. */
function cancellable(order: Order) {
  const { view, captured, leftWarehouse, closing } = order;
  return { status: view.status, captured, leftWarehouse, closing };
}
