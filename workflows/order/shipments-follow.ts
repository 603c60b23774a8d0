import { ChildWorkflowCancellationType, ParentClosePolicy, startChild, workflowInfo } from '@temporalio/workflow';
import type { NotificationKind } from '../../activities/notifications.js';
import { shipmentWorkflowId } from '../../domain/ids.js';
import { cancelShipmentSignal } from '../../domain/messages.js';
import type { OrderShipment, ShipmentReport, ShipmentResult, ShipmentWorkflowInput } from '../../domain/order.js';
import { shipmentAmount } from '../../domain/shares.js';
import { LEFT_WAREHOUSE, statusFromShipments } from '../../domain/statuses.js';
import { shipmentInOrderWorkflow, shipmentWorkflow } from '../shipment.js';
import { updatePayment } from './shipments-capture.js';
import type { OrderInProcess } from './held-write.js';
import type { Planned } from './shipments-plan.js';
import type { Order } from './state.js';

/**
 * Starts every shipment and follows them: their reports update the view (and the customer), until
 * every one has ended. Returns how each ended.
 */
export async function followShipments(order: Order, planned: Planned[]): Promise<ShipmentResult[]> {
  const { orderId } = order;
  const parentWorkflowId = workflowInfo().workflowId;
  const handles = [];
  // A plan of one shipment runs it in this workflow (Patch.LoneShipmentInOrder): no child to start.
  const inOrder = order.loneShipmentInOrder && planned.length === 1;
  for (const p of planned) {
    const share = order.children.payments.get(p.shipment)!.captured;
    const subtotal = shipmentAmount(order.lines, p.lines, 0);
    const input: ShipmentWorkflowInput = {
      order: {
        ...order.input,
        request: { ...order.request, items: p.lines.map(({ sku, quantity }) => ({ sku, quantity })) },
      },
      shipment: p.shipment,
      warehouseId: p.warehouseId,
      lines: p.lines,
      totals: { subtotal, shipping: share - subtotal, total: share, currency: order.totals.currency },
      parentWorkflowId,
      ...(order.lean ? { lean: true, alone: planned.length === 1 } : {}),
      ...(order.oneTimerPerDeadline ? { oneTimerPerDeadline: true } : {}),
      ...(order.sharedTimerAndWrites ? { sharedTimerAndWrites: true } : {}),
    };
    const handle = inOrder
      ? shipmentInOrderWorkflow(input, inProcess(order))
      : await startChild(shipmentWorkflow, {
          workflowId: shipmentWorkflowId(orderId, p.shipment),
          args: [input],
          // A terminated order runs no code, and neither do its shipments: the reconciler settles both from the tables.
          parentClosePolicy: ParentClosePolicy.TERMINATE,
          cancellationType: ChildWorkflowCancellationType.WAIT_CANCELLATION_COMPLETED,
        });
    order.children.handles.set(p.shipment, handle);
    if (inOrder) order.children.inOrder = p.shipment;
    // The shipment owns its share from now on: its own undo refunds it.
    const undo = order.children.shareUndos.get(p.shipment);
    if (undo) order.undo.splice(order.undo.indexOf(undo), 1);
    // A cancel that arrived while the shipments started reaches this one too.
    if (order.cancelRequest) await handle.signal(cancelShipmentSignal, order.cancelRequest);
    handles.push(handle);
  }
  const results: ShipmentResult[] = [];
  let running = handles.length;
  const finished = handles.map((handle) =>
    handle.result().then(({ reports = [], ...result }) => {
      // Its last reports come with its result (lean), and are applied first.
      order.children.reports.push(...reports);
      results.push(result);
      running -= 1;
    }),
  );
  for (;;) {
    await order.wait(() => order.children.reports.length > 0 || running === 0);
    const report = order.children.reports.shift();
    if (report) await applyReport(order, report);
    else if (running === 0) break;
  }
  await Promise.all(finished);
  for (const result of results) setShipment(order, result.shipment, result.summary, result.payment);
  return results.sort((a, b) => a.shipment - b.shipment);
}

/** The order as its only shipment, inside its workflow, reaches it (Patch.LoneShipmentInOrder). */
function inProcess(order: Order): OrderInProcess {
  return {
    take(reports) {
      if (!order.sharedTimerAndWrites) return void order.children.reports.push(...reports);
      // Patch.SharedTimerAndWrites: applied now, for the shipment's next step or wait to write. A
      // lean order's record and notify only hold (nothing awaits), so each report is in once called.
      for (const report of reports) void applyReport(order, report);
    },
    flush: () => order.flush(),
    held: order.held,
  };
}

/** Notices the order sends itself when a shipment ends (a cancelled shipment's own notice would repeat it). */
const NOT_FORWARDED: readonly string[] = ['cancelled'];

/** A shipment's milestone: its part of the view, the order's status and timeline, its notice to the customer. */
async function applyReport(order: Order, report: ShipmentReport): Promise<void> {
  const { view } = order;
  setShipment(order, report.shipment, report.summary, report.payment);
  order.parked = [...order.children.parked.values()].some(Boolean);
  order.children.undoParked.set(report.shipment, report.undoParked);
  order.undoParked = [...order.children.undoParked.values()].some(Boolean);
  view.deliveryAttempts = report.deliveryAttempts;
  for (const ret of report.returns) {
    const at = view.returns.findIndex((known) => known.returnId === ret.returnId);
    if (at >= 0) view.returns[at] = ret;
    else view.returns.push(ret);
  }
  view.attention = report.attention ?? (order.parked ? view.attention : null);
  if (report.type === 'notice') {
    const notice = report.notice && { ...report.notice, kind: report.notice.kind as NotificationKind };
    // A shipment undoing itself: if the whole order closes for it, the order says so once.
    const last = report.summary.timeline.at(-1);
    if (notice && report.closing) order.children.closingNotice = { type: last?.type ?? 'order_cancelled', notice };
    else if (notice && !NOT_FORWARDED.includes(notice.kind)) await order.notify(notice);
    return;
  }
  const derived = statusFromShipments(view.shipments.map((s) => s.status)) ?? view.status;
  // The order's own milestones (delivered, cancelled) are recorded by the order when every shipment ended.
  if (report.type === 'delivered' && derived === 'delivered') return;
  if (derived === 'needs_attention' && report.type !== 'needs_attention') return;
  const id = report.summary.shipmentId;
  const detail = view.shipments.length > 1 ? `${id}${report.detail ? `: ${report.detail}` : ''}` : report.detail;
  const type = report.type === 'order_cancelled' ? 'shipment_cancelled' : report.type;
  await order.record(type, derived === 'cancelled' ? view.status : derived, detail);
}

function setShipment(order: Order, shipment: number, summary: OrderShipment, payment: Order['view']['payment']) {
  const { view } = order;
  view.shipments = view.shipments.map((s) => (s.shipmentId === summary.shipmentId ? summary : s));
  order.children.payments.set(shipment, payment);
  order.children.parked.set(shipment, summary.status === 'needs_attention');
  updatePayment(order);
  // A cancel is settled once every shipment is undone or with the carrier (those are left to returns).
  const left = view.shipments.filter((s) => LEFT_WAREHOUSE.includes(s.status));
  order.leftWarehouse =
    left.length > 0 && view.shipments.every((s) => s.status === 'cancelled' || LEFT_WAREHOUSE.includes(s.status));
  if (order.cancelRequest && order.leftWarehouse) order.children.cancelSettled = true;
}
