import { ChildWorkflowCancellationType, ParentClosePolicy, startChild, workflowInfo } from '@temporalio/workflow';
import type { ReservedShipment } from '../../activities/inventory.js';
import type { AllocationLine } from '../../domain/allocation.js';
import { durationMs } from '../../domain/durations.js';
import { shipmentId, shipmentWorkflowId } from '../../domain/ids.js';
import type { OrderShipment, PricedLine, ShipmentReport, ShipmentResult } from '../../domain/order.js';
import { shipmentAmount, shippingShare } from '../../domain/shares.js';
import { LEFT_WAREHOUSE, statusFromShipments } from '../../domain/statuses.js';
import type { NotificationKind } from '../../activities/notifications.js';
import { cancelShipmentSignal } from '../../domain/messages.js';
import { formatMoney, OrderClosing } from '../outcomes.js';
import { steps } from '../proxies.js';
import { shipmentWorkflow } from '../shipment.js';
import {
  authorize,
  cancellationBuffer,
  type FirstAuthorization,
  price,
  priceReserveAndAuthorize,
  type Reserved,
} from './checkout.js';
import type { Order, Undo } from './state.js';
import { releaseReservation } from './undos.js';

/** A shipment as planned: its number, where its units are held (null: a backordered remainder), its lines. */
interface Planned {
  shipment: number;
  warehouseId: string | null;
  lines: PricedLine[];
}

/**
 * The order's shipments (Patch.ShipmentsAsChildWorkflows): the planner's shipments are reserved,
 * the total authorized once, and after the free-cancel buffer each shipment's share is captured
 * and its child workflow started. The order follows them through their reports until each is
 * delivered or undone; what none of them ships is never captured, and what was is refunded by the
 * shipment that did not ship it.
 */
export async function fulfilInShipments(order: Order): Promise<'delivered' | 'returned'> {
  order.undo.push(releaseReservation(order));
  const { planned, authorization } = await reserveShipments(order);
  await authorize(order, voidUncaptured(order, planned), authorization);
  await cancellationBuffer(order);
  // Every share is captured before any shipment starts: a cancel until then undoes the order as a whole.
  for (const shipment of planned) await captureShare(order, shipment);
  order.checkpoint();
  const results = await followShipments(order, planned);
  // Returns go back to the warehouse of the first parcel delivered.
  const first = results.find((result) => result.outcome === 'delivered');
  if (first) {
    order.warehouseId = first.summary.warehouseId;
    return 'delivered';
  }
  if (results.some((result) => result.outcome === 'returned')) return 'returned';
  // Nothing shipped: the order closes (the shipments undid themselves; the authorization's rest is voided).
  const undone = results.map((result) => result.summary.timeline.at(-1)?.detail).filter(Boolean);
  // Cancelled by someone, or by what ended its shipments (a backorder that expired, a lost parcel refunded).
  const cause = order.cancelRequest ? null : order.closingNotice;
  throw new OrderClosing(
    'cancelled',
    cause?.type ?? 'order_cancelled',
    [order.cancelRequest?.reason, ...undone].filter(Boolean).join('; '),
    cause?.notice ?? {
      kind: 'cancelled',
      subject: `Order ${order.orderId} was cancelled`,
      body: 'Your order was cancelled and your payment refunded.',
    },
  );
}

/**
 * Plans and reserves the shipments; with nothing reservable, the backorder policy decides (as for
 * one parcel). With Patch.FeedbackInOutbox the first reservation also authorized: its answer comes back.
 */
async function reserveShipments(order: Order): Promise<{ planned: Planned[]; authorization: FirstAuthorization }> {
  const { orderId, request, policy, view } = order;
  const resumeAs = view.status;
  const partial =
    (request.backorderPolicy ?? policy.backorderPolicy) === 'reject'
      ? 'reject'
      : (policy.partialFulfillment ?? 'ship_available');
  const retryEvery = durationMs(policy.backorderRetryInterval ?? '1h');
  let deadline: number | null = null;
  // Lean: the order is priced by the activity that makes its first reservation.
  let unpriced = order.lean;
  let authorization: FirstAuthorization = null;
  for (;;) {
    order.stockArrived = false;
    const reserve = { orderId, firstShipment: 1, shippingAddress: request.shippingAddress, policy: partial };
    let reserved: Reserved;
    if (unpriced && order.feedbackInOutbox)
      ({ reserved, authorization } = await priceReserveAndAuthorize(order, reserve));
    else if (unpriced) reserved = await price(order, reserve);
    else
      reserved = await order.runStep('reserve stock', () =>
        steps.reserveShipments({ ...reserve, lines: order.warehouseLines() }),
      );
    const { shipments, missing } = reserved;
    unpriced = false;
    if (shipments.length > 0) {
      const planned: Planned[] = shipments.map((held: ReservedShipment) => ({
        shipment: held.shipment,
        warehouseId: held.warehouseId,
        lines: priced(order, held.lines),
      }));
      // What no warehouse holds now ships later, as a shipment of its own that waits for stock.
      if (missing.length > 0)
        planned.push({ shipment: planned.length + 1, warehouseId: null, lines: priced(order, missing) });
      order.warehouseId = shipments[0]!.warehouseId;
      view.shipments = planned.map((p) => newShipment(order, p));
      const where = shipments.map((held) => held.warehouseId);
      await order.record(
        'stock_reserved',
        resumeAs,
        `at ${where.join(', ')}${missing.length ? `; backordered: ${describe(missing)}` : ''}`,
      );
      return { planned, authorization };
    }
    if (partial === 'reject') {
      throw new OrderClosing('rejected', 'order_rejected', 'not enough stock in the network', {
        kind: 'rejected',
        subject: `Order ${orderId} could not be fulfilled`,
        body: 'We do not have enough stock to ship your order. Nothing was charged.',
      });
    }
    if (deadline === null) {
      deadline = Date.now() + durationMs(policy.backorderWait);
      const until = new Date(deadline).toISOString();
      await order.record('backordered', 'backordered', `waiting for stock until ${until}`);
      await order.notify({
        kind: 'backordered',
        subject: `Order ${orderId} is backordered`,
        body: `Part of your order is out of stock. We will ship as soon as it arrives, or cancel the order if it has not arrived by ${until}.`,
      });
    }
    const wakeAt = Math.min(deadline, Date.now() + retryEvery);
    const arrived = await order.wait(
      () => order.stockArrived || order.cancelRequest !== null,
      Math.max(1, wakeAt - Date.now()),
      { summary: wakeAt < deadline ? 'backorder: try the reservation again' : 'backorder deadline' },
    );
    order.checkpoint();
    if (!arrived && Date.now() >= deadline) {
      throw new OrderClosing('cancelled', 'backorder_expired', `no stock arrived within ${policy.backorderWait}`, {
        kind: 'backorder_expired',
        subject: `Order ${orderId} was cancelled`,
        body: 'The items did not come back in stock in time, so we cancelled your order. Nothing was charged.',
      });
    }
  }
}

/** The undo of the authorization: voids what no shipment captured (all of it before the first capture). */
function voidUncaptured(order: Order, planned: Planned[]): Undo {
  return {
    name: 'void the authorization',
    phase: 'money',
    run: async (act) => {
      const { voided } = await act.voidUncaptured({
        orderId: order.orderId,
        shipments: planned.map((p) => p.shipment),
      });
      if (voided === 0) return null;
      if (order.view.payment.captured === 0) order.view.payment = { ...order.view.payment, status: 'voided' };
      return `voided ${formatMoney(voided, order.totals.currency)}`;
    },
  };
}

/** Captures one shipment's share (its refund registered first; the shipment owns it once started). */
async function captureShare(order: Order, planned: Planned): Promise<void> {
  const { orderId, totals } = order;
  const { shipment } = planned;
  const amount = shipmentAmount(order.lines, planned.lines, shippingShare(totals, shipment));
  // A cancel that ended the buffer stops here, before any capture is even registered.
  order.checkpoint();
  const undo: Undo = {
    name: `refund shipment ${shipment}`,
    phase: 'money',
    run: async (act) => {
      const { refunded } = await act.refundPayment({ orderId, shipment, reason: 'cancel' });
      if (refunded === 0) return null;
      const payment = order.shipmentPayments.get(shipment);
      if (payment) order.shipmentPayments.set(shipment, { ...payment, status: 'refunded', refunded });
      updatePayment(order);
      return `refunded ${formatMoney(refunded, totals.currency)}`;
    },
  };
  order.undo.push(undo);
  order.shareUndos.set(shipment, undo);
  const capture = { orderId, shipment, amount, currency: totals.currency };
  const detail =
    planned.lines.length && order.view.shipments.length > 1
      ? `${shipmentId(orderId, shipment)}: ${formatMoney(amount, totals.currency)}`
      : undefined;
  const captured = () => {
    order.shipmentPayments.set(shipment, { status: 'captured', authorized: amount, captured: amount, refunded: 0 });
    updatePayment(order);
  };
  if (order.lean) {
    // Lean: the capture writes its milestone itself.
    await order.runStep(`capture shipment ${shipment}`, () =>
      order.stepWithMilestone(
        (readModel) => steps.capturePayment({ ...capture, readModel }),
        () => {
          captured();
          order.hold('payment_captured', 'processing', detail);
        },
        () => order.shipmentPayments.delete(shipment),
      ),
    );
    order.captured = true;
    return;
  }
  await order.runStep(`capture shipment ${shipment}`, () => steps.capturePayment(capture));
  order.captured = true;
  captured();
  await order.record('payment_captured', 'processing', detail);
}

/**
 * Starts every shipment and follows them: their reports update the view (and the customer), until
 * every one has ended. Returns how each ended.
 */
async function followShipments(order: Order, planned: Planned[]): Promise<ShipmentResult[]> {
  const { orderId } = order;
  const parentWorkflowId = workflowInfo().workflowId;
  const handles = [];
  for (const p of planned) {
    const share = order.shipmentPayments.get(p.shipment)!.captured;
    const subtotal = shipmentAmount(order.lines, p.lines, 0);
    const handle = await startChild(shipmentWorkflow, {
      workflowId: shipmentWorkflowId(orderId, p.shipment),
      args: [
        {
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
        },
      ],
      // A terminated order runs no code, and neither do its shipments: the reconciler settles both from the tables.
      parentClosePolicy: ParentClosePolicy.TERMINATE,
      cancellationType: ChildWorkflowCancellationType.WAIT_CANCELLATION_COMPLETED,
    });
    order.children.set(p.shipment, handle);
    // The shipment owns its share from now on: its own undo refunds it.
    const undo = order.shareUndos.get(p.shipment);
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
      order.reports.push(...reports);
      results.push(result);
      running -= 1;
    }),
  );
  for (;;) {
    await order.wait(() => order.reports.length > 0 || running === 0);
    const report = order.reports.shift();
    if (report) await applyReport(order, report);
    else if (running === 0) break;
  }
  await Promise.all(finished);
  for (const result of results) setShipment(order, result.shipment, result.summary, result.payment);
  return results.sort((a, b) => a.shipment - b.shipment);
}

/** Notices the order sends itself when a shipment ends (a cancelled shipment's own notice would repeat it). */
const NOT_FORWARDED: readonly string[] = ['cancelled'];

/** A shipment's milestone: its part of the view, the order's status and timeline, its notice to the customer. */
async function applyReport(order: Order, report: ShipmentReport): Promise<void> {
  const { view } = order;
  setShipment(order, report.shipment, report.summary, report.payment);
  order.parked = [...order.shipmentParked.values()].some(Boolean);
  order.shipmentUndoParked.set(report.shipment, report.undoParked);
  order.undoParked = [...order.shipmentUndoParked.values()].some(Boolean);
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
    if (notice && report.closing) order.closingNotice = { type: last?.type ?? 'order_cancelled', notice };
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
  order.shipmentPayments.set(shipment, payment);
  order.shipmentParked.set(shipment, summary.status === 'needs_attention');
  updatePayment(order);
  // A cancel is settled once every shipment is undone or with the carrier (those are left to returns).
  const left = view.shipments.filter((s) => LEFT_WAREHOUSE.includes(s.status));
  order.leftWarehouse =
    left.length > 0 && view.shipments.every((s) => s.status === 'cancelled' || LEFT_WAREHOUSE.includes(s.status));
  if (order.cancelRequest && order.leftWarehouse) order.cancelSettled = true;
}

/** The order's payment is the sum of its shipments' shares. */
function updatePayment(order: Order): void {
  const shares = [...order.shipmentPayments.values()];
  const captured = shares.reduce((sum, p) => sum + p.captured, 0);
  const refunded = shares.reduce((sum, p) => sum + p.refunded, 0);
  const { payment } = order.view;
  order.view.payment = {
    ...payment,
    captured,
    refunded,
    status: captured === 0 ? payment.status : refunded >= captured ? 'refunded' : 'captured',
  };
}

function newShipment(order: Order, planned: Planned): OrderShipment {
  return {
    shipmentId: shipmentId(order.orderId, planned.shipment),
    warehouseId: planned.warehouseId ?? '',
    items: planned.lines.map(({ sku, quantity }) => ({ sku, quantity })),
    status: planned.warehouseId ? 'reserved' : 'backordered',
    carrier: null,
    service: null,
    trackingNumber: null,
    promisedBy: null,
    waveId: null,
    priority: null,
    timeline: [],
  };
}

function priced(order: Order, lines: readonly AllocationLine[]): PricedLine[] {
  return lines.map((line) => ({ ...order.lines.find((l) => l.sku === line.sku)!, quantity: line.quantity }));
}

function describe(lines: readonly AllocationLine[]): string {
  return lines.map((line) => `${line.quantity} × ${line.sku}`).join(', ');
}
