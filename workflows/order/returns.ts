import { allHandlersFinished, ApplicationFailure, patched } from '@temporalio/workflow';
import { addDuration, durationMs } from '../../domain/durations.js';
import { FailureType } from '../../domain/failures.js';
import type { PricedLine, ReturnView } from '../../domain/order.js';
import { returnRefund, returnRefusal, unitsLeftToReturn } from '../../domain/returns.js';
import { MAX_DELIVERY_ATTEMPTS } from '../../domain/statuses.js';
import { failureMessage, formatMoney, OrderClosing } from '../outcomes.js';
import { Patch } from '../patches.js';
import { mustComplete, steps } from '../proxies.js';
import type { Order } from './state.js';

type Items = { sku: string; quantity: number }[];

/**
 * The return window: returns are requested by update, their parcels arrive as warehouse receipts,
 * unanswered authorizations expire, and the customer is asked for feedback. The order completes
 * when the window has closed and no return is open, or ends `returned` if every unit came back.
 */
export async function returnWindow(order: Order): Promise<void> {
  const { orderId, policy, view, receipts } = order;
  const windowEnds = Date.parse(view.returnableUntil!);
  const feedbackAt = Date.now() + durationMs(policy.feedbackDelay);
  // Patch.FeedbackInOutbox: the request was scheduled in the outbox at delivery; no timer for it here.
  let feedbackAsked = order.feedbackInOutbox;
  for (;;) {
    for (const ret of view.returns) {
      const receipt = receipts.get(ret.returnId);
      if (receipt && (ret.status === 'authorized' || ret.status === 'expired')) await settleReturn(order, ret);
      else if (ret.status === 'authorized' && Date.parse(ret.expiresAt) <= Date.now()) await expireReturn(order, ret);
    }
    if (!feedbackAsked && Date.now() >= feedbackAt) {
      feedbackAsked = true;
      if (unitsLeftToReturn(deliveredLines(order), view.returns) > 0) {
        await order.notify(feedbackRequest(orderId));
      }
    }
    const open = view.returns.filter((ret) => ret.status === 'authorized');
    const windowClosed = Date.now() >= windowEnds && open.length === 0;
    if (windowClosed && allHandlersFinished()) break;
    // A signal that came with the window's end may not count as finished yet: the order waits for
    // it, not for a feedback request it will never send (the chaos suite found orders stuck in
    // delivered until then).
    const untilHandlersFinish = windowClosed && (order.lean || patched(Patch.ReturnWindowClosesWithItsHandlers));
    const wakeAt = untilHandlersFinish
      ? Infinity
      : Math.min(
          Date.now() >= windowEnds ? Infinity : windowEnds,
          feedbackAsked ? Infinity : feedbackAt,
          ...open.map((ret) => Date.parse(ret.expiresAt)),
        );
    order.returnsChanged = false;
    const pending = () =>
      order.returnsChanged || view.returns.some((ret) => ret.status !== 'refunded' && receipts.has(ret.returnId));
    if (wakeAt === Infinity) await order.wait(() => pending() || allHandlersFinished());
    else await order.wait(pending, Math.max(1, wakeAt - Date.now()), { summary: 'return window' });
  }
  if (unitsLeftToReturn(deliveredLines(order), view.returns) === 0)
    await order.record(
      'order_returned',
      'returned',
      `every unit came back; refunded ${formatMoney(view.payment.refunded, order.totals.currency)}`,
    );
  else await order.record('order_completed', 'completed');
}

/** Why these items cannot be returned now, or null. */
export function returnRefusalOf(order: Order, items: Items): string | null {
  const { view } = order;
  return returnRefusal(
    {
      status: view.status,
      returnableUntil: view.returnableUntil,
      delivered: deliveredLines(order),
      returns: view.returns,
    },
    items,
    Date.now(),
  );
}

/**
 * Authorizes a return. Checked again here, and the units claimed in the same breath, so two
 * returns racing for the same units cannot both win. A prepaid label that cannot be bought gives
 * the claim back (the request is refused for now; asking again reuses the return ID, so a label
 * the carrier did sell is the one it gets). Recorded before the warehouse hears of it, so its
 * receipt always finds the return.
 */
export async function authorizeReturn(
  order: Order,
  { items, reason, comment }: { items: Items; reason: string; comment?: string | undefined },
): Promise<ReturnView> {
  const { orderId, request, view } = order;
  const refusal = returnRefusalOf(order, items);
  if (refusal) throw ApplicationFailure.nonRetryable(refusal, FailureType.ReturnNotAllowed);
  const ret = newReturn(order, reason, items, comment ?? null);
  const returnLabel = await steps
    .buyReturnLabel({ returnId: ret.returnId, warehouseId: order.warehouseId!, from: request.shippingAddress })
    .catch((error: unknown) => {
      view.returns.splice(view.returns.indexOf(ret), 1);
      order.returnsChanged = true;
      throw ApplicationFailure.nonRetryable(
        `no return label could be bought: ${failureMessage(error)}`,
        FailureType.ReturnLabelUnavailable,
      );
    });
  ret.returnLabel = returnLabel;
  // The answer is the authorization as issued; the parcel may be back before this handler ends.
  const authorization: ReturnView = { ...ret, items: ret.items.map((item) => ({ ...item })) };
  await mustComplete.recordReturn({ orderId, ret });
  await mustComplete.expectReturnParcel({ returnId: ret.returnId, orderId, warehouseId: order.warehouseId!, items });
  const what = items.map((item) => `${item.quantity} × ${item.sku}`).join(', ');
  await order.record('return_authorized', view.status, `${ret.returnId} (${reason}): ${what}`);
  await order.notify({
    kind: 'return_authorized',
    about: ret.returnId,
    subject: `Order ${orderId}: return ${ret.returnId}`,
    body: `Send ${what} back with ${returnLabel.carrier} label ${returnLabel.trackingNumber} by ${ret.expiresAt}. We refund as soon as it arrives.`,
  });
  // Written before the caller is answered (lean: it was held).
  await order.flush();
  return authorization;
}

/**
 * The carrier gave up after its last attempt and sends the parcel back. When the warehouse
 * receives it, resalable units go back on the shelf and the customer gets everything back; a
 * parcel that never comes back counts as lost and is refunded all the same.
 */
export async function parcelReturnedToSender(order: Order): Promise<void> {
  const { orderId, view, totals } = order;
  const ret = newReturn(order, 'returned_to_sender', order.warehouseLines(), null);
  await order.record(
    'returned_to_sender',
    'delivery_exception',
    `after ${MAX_DELIVERY_ATTEMPTS} failed attempts; ${ret.returnId} expected back by ${ret.expiresAt}`,
  );
  await mustComplete.recordReturn({ orderId, ret });
  await mustComplete.expectReturnParcel({
    returnId: ret.returnId,
    orderId,
    warehouseId: order.warehouseId!,
    items: ret.items,
  });
  const received = await order.wait(
    () => order.receipts.has(ret.returnId),
    Math.max(1, Date.parse(ret.expiresAt) - Date.now()),
    { summary: 'parcel back to sender' },
  );
  if (!received) {
    throw new OrderClosing('cancelled', 'parcel_lost_refunded', `${ret.returnId} never came back`, {
      kind: 'refund_issued',
      subject: `Order ${orderId}: your refund`,
      body: `Your parcel could not be delivered and was lost on its way back. We refunded ${formatMoney(totals.total, totals.currency)}.`,
    });
  }
  await settleReturn(order, ret, totals.total);
  await order.record(
    'order_returned',
    'returned',
    `every unit came back; refunded ${formatMoney(view.payment.refunded, totals.currency)}`,
  );
}

function newReturn(order: Order, reason: string, items: Items, comment: string | null): ReturnView {
  const { view } = order;
  const ret: ReturnView = {
    returnId: `${order.owner}-r${view.returns.length + 1}`,
    status: 'authorized',
    reason,
    comment,
    items,
    returnLabel: null,
    expiresAt: addDuration(new Date().toISOString(), order.policy.returnShippingWindow),
    units: [],
    refunded: 0,
    createdAt: new Date().toISOString(),
  };
  view.returns.push(ret);
  order.returnsChanged = true;
  return ret;
}

/**
 * Refunds what came back (domain `returnRefund`): resalable units back on the shelf, damaged
 * written off; `amount` overrides the refund (a parcel back to sender refunds everything).
 */
async function settleReturn(order: Order, ret: ReturnView, amount?: number): Promise<void> {
  const { orderId, view, totals } = order;
  const receipt = order.receipts.get(ret.returnId)!;
  // A parcel that arrives after its authorization expired counts only for units no later return claimed.
  const authorized =
    ret.status === 'expired'
      ? ret.items.map((item) => ({
          sku: item.sku,
          quantity: Math.min(item.quantity, unitsLeftToReturn(deliveredLines(order), view.returns, item.sku)),
        }))
      : ret.items;
  const refund = returnRefund({
    authorized,
    received: receipt.units,
    prices: order.lines,
    reason: ret.reason,
    shipping: totals.shipping,
    shippingRefunded: order.shippingRefunded,
  });
  const { units } = refund;
  await mustComplete.restockReturnedUnits({ orderId, returnId: ret.returnId, warehouseId: order.warehouseId!, units });
  if (refund.shipping > 0) order.shippingRefunded = true;
  const refunded = await refundReturn(order, `return:${ret.returnId}`, amount ?? refund.itemsPrice + refund.shipping);
  ret.status = 'refunded';
  ret.units = units;
  ret.refunded = refunded;
  const refundedTotal = view.payment.refunded + refunded;
  view.payment = {
    ...view.payment,
    refunded: refundedTotal,
    status: refundedTotal >= view.payment.captured ? 'refunded' : view.payment.status,
  };
  await mustComplete.recordReturn({ orderId, ret });
  // Every unit back before the feedback request went out: it never goes (as when it was asked by timer).
  if (
    order.feedbackDueAt !== null &&
    Date.now() < order.feedbackDueAt &&
    unitsLeftToReturn(deliveredLines(order), view.returns) === 0
  ) {
    order.feedbackDueAt = null;
    order.withdrawNotice('feedback_request');
  }
  const summary = units.map((unit) => `${unit.quantity} × ${unit.sku} ${unit.condition}`).join(', ');
  await order.record(
    'return_refunded',
    view.status,
    `${ret.returnId}: ${summary}; refunded ${formatMoney(refunded, totals.currency)}`,
  );
  await order.notify({
    kind: 'refund_issued',
    about: ret.returnId,
    subject: `Order ${orderId}: your refund`,
    body: `We received your return (${summary}) and refunded ${formatMoney(refunded, totals.currency)}.`,
  });
}

/**
 * Refunds up to `amount` and answers what was refunded: from the order's one capture (old shape),
 * this shipment's capture, or the order's shipments' captures in turn.
 */
async function refundReturn(order: Order, reason: string, amount: number): Promise<number> {
  if (order.shipmentsShape) return order.children.refund(reason, amount);
  return (await mustComplete.refundPayment({ ...order.subject, reason, amount })).refunded;
}

/** The units the customer received: every line (old shape), or the delivered shipments' units. */
function deliveredLines(order: Order): PricedLine[] {
  if (!order.shipmentsShape) return order.lines;
  const delivered = new Map<string, number>();
  for (const s of order.view.shipments)
    if (s.status === 'delivered')
      for (const item of s.items) delivered.set(item.sku, (delivered.get(item.sku) ?? 0) + item.quantity);
  return order.lines
    .filter((line) => delivered.has(line.sku))
    .map((line) => ({ ...line, quantity: delivered.get(line.sku)! }));
}

async function expireReturn(order: Order, ret: ReturnView): Promise<void> {
  const { orderId } = order;
  ret.status = 'expired';
  await mustComplete.recordReturn({ orderId, ret });
  await order.record('return_expired', order.view.status, `${ret.returnId}: no parcel by ${ret.expiresAt}`);
  await order.notify({
    kind: 'return_expired',
    about: ret.returnId,
    subject: `Order ${orderId}: return ${ret.returnId} expired`,
    body: 'We did not receive your return parcel in time, so the return authorization expired.',
  });
}

/** The customer is asked how it went, a while after delivery (`policy.feedbackDelay`). */
export function feedbackRequest(orderId: string, sendAt?: string) {
  return {
    kind: 'feedback_request',
    subject: `How was order ${orderId}?`,
    body: 'Tell us how we did: it takes a minute.',
    ...(sendAt ? { sendAt } : {}),
  } as const;
}
