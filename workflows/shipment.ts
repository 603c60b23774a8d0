import { type SignalDefinition, setHandler } from '@temporalio/workflow';
import {
  cancelShipmentSignal,
  carrierEventSignal,
  orderViewQuery,
  retryShipmentSignal,
  returnReceivedSignal,
  stockArrivedSignal,
  warehouseEventSignal,
} from '../domain/messages.js';
import type { ShipmentResult, ShipmentWorkflowInput } from '../domain/order.js';
import type { OrderStatus } from '../domain/statuses.js';
import { runToTheEnd } from './order/close.js';
import { reserve } from './order/reserve.js';
import { shipFromWarehouse } from './order/ship.js';
import { Order } from './order/state.js';
import type { OrderInProcess } from './order/held-write.js';
import { followParcel } from './order/track.js';
import { refundCapture, releaseReservation } from './order/undos.js';

/**
 * One parcel of an order (`shipment-<orderId>-<n>`), started by the order's workflow once its
 * share is captured: pick, pack, label, hand-over, tracking, delivery promise, exceptions and
 * reship, each effect keyed by the shipment and registered with its undo. A cancel from the order
 * before the hand-over undoes it all (its capture refunded, its reservation released); after it,
 * the cancel is ignored and the parcel is left to returns. Every milestone is reported to the
 * order, which keeps the one read model row and talks to the customer.
 */
export async function shipmentWorkflow(input: ShipmentWorkflowInput): Promise<ShipmentResult> {
  const order = shipmentState(input);
  setHandler(orderViewQuery, () => order.view);
  hearSignals(order, (signal, handle) => setHandler(signal, handle));
  return runShipment(order, input);
}

/** A shipment as its order sees it, wherever it runs: its signals, and its result once it has ended. */
export interface ShipmentHandle {
  signal<T extends unknown[]>(signal: SignalDefinition<T>, ...args: T): Promise<void>;
  result(): Promise<ShipmentResult>;
}

/**
 * The order's only shipment run inside the order's own workflow (Patch.LoneShipmentInOrder): the
 * same state, steps and keys as a child's, its reports handed to `toOrder` in process and the
 * order's forwarded signals delivered to it in process (since Patch.SharedTimerAndWrites the order
 * applies its reports at once, and its steps carry the order's writes). No second workflow, no start, no report
 * signals: a plain order costs one workflow and some 15 history events less.
 */
export function shipmentInOrderWorkflow(input: ShipmentWorkflowInput, toOrder: OrderInProcess): ShipmentHandle {
  const order = shipmentState(input, toOrder);
  const handlers = new Map<string, (arg: never) => void>();
  hearSignals(order, (signal, handle) => void handlers.set(signal.name, handle));
  const result = runShipment(order, input);
  return {
    async signal(signal, ...args) {
      (handlers.get(signal.name) as ((...a: typeof args) => void) | undefined)?.(...args);
    },
    result: () => result,
  };
}

/** The shipment's state as the order hands it over: its lines reserved, its share captured. */
function shipmentState(input: ShipmentWorkflowInput, toOrder?: OrderInProcess): Order {
  const order = new Order(input.order, input, toOrder);
  const { view } = order;
  order.lines = input.lines;
  order.warehouseId = input.warehouseId;
  view.items = input.lines.map(({ sku, name, quantity, unitPrice }) => ({ sku, name, quantity, unitPrice }));
  view.totals = input.totals;
  view.status = input.warehouseId ? 'processing' : 'backordered';
  // The order captured this shipment's share before starting it.
  order.captured = true;
  view.payment = { status: 'captured', authorized: input.totals.total, captured: input.totals.total, refunded: 0 };
  return order;
}

/** Pick, pack, label, hand-over and tracking to delivery, with every undo; its result for the order. */
async function runShipment(order: Order, input: ShipmentWorkflowInput): Promise<ShipmentResult> {
  const { view } = order;
  await runToTheEnd(order, async () => {
    order.undo.push(releaseReservation(order), refundCapture(order));
    // A backordered remainder reserves first (and may wait for a restock); the others hold theirs.
    if (input.warehouseId) order.round = 1;
    else await reserve(order);
    await shipFromWarehouse(order);
    if ((await followParcel(order)) === 'returned_to_sender') return;
    await order.record('delivered', 'delivered');
  });
  const ended = view.status as OrderStatus;
  const outcome = ended === 'delivered' ? 'delivered' : ended === 'returned' ? 'returned' : 'cancelled';
  const result = {
    shipment: input.shipment,
    outcome,
    summary: order.shipmentSummary(),
    payment: view.payment,
  } as const;
  // What happened since it last waited goes back with the result, not in a signal of its own (lean).
  const reports = order.takeHeldReports();
  return reports.length ? { ...result, reports } : result;
}

/** Registers a handler of one signal: `setHandler` in a shipment's own workflow, a table in its order's. */
type On = <T>(signal: SignalDefinition<[T]>, handle: (arg: T) => void) => void;

/** What a shipment hears: the warehouse's and carrier's reports, a restock, its order's cancel and retry. */
function hearSignals(order: Order, on: On): void {
  const { orderId } = order;
  on(warehouseEventSignal, (event) => {
    if (event.orderId === orderId) order.warehouseEvents.set(event.taskId, event);
  });
  on(carrierEventSignal, (event) => void order.carrierEvents.push(event));
  on(stockArrivedSignal, () => {
    order.stockArrived = true;
  });
  on(returnReceivedSignal, ({ returnId, ...receipt }) => {
    if (!order.receipts.has(returnId)) order.receipts.set(returnId, receipt);
  });
  on(cancelShipmentSignal, (cancel) => {
    // Once the carrier has the parcel only a return helps: the order sees that in the reports.
    if (order.leftWarehouse || order.closing || order.closed) return;
    order.cancelRequest ??= cancel;
    order.activeStep?.cancel();
  });
  on(retryShipmentSignal, () => {
    if (order.parked) order.retryRequested = true;
  });
}
