import { FailureType } from '../../domain/failures.js';
import { failureMessage, failureType, formatMoney, OrderClosing } from '../outcomes.js';
import { steps } from '../proxies.js';
import type { Order, Undo } from './state.js';
import { refundCapture } from './undos.js';

// The money side of an order until the parcel is on its way: price, authorize, buffer, capture.

/** What the order's first reservation asks for (lean: priced and reserved by one activity). */
export type FirstReservation = Omit<Parameters<typeof steps.quoteAndReserveShipments>[0], 'items' | 'shippingSpeed'>;
export type Reserved = Awaited<ReturnType<typeof steps.reserveShipments>>;

/** Prices the lines from the catalog (never from the caller); an item no longer sold rejects the order. */
export async function price(order: Order): Promise<void>;
/** Prices the lines, then makes the first reservation in the same activity (lean), and answers it. */
export async function price(order: Order, reserve: FirstReservation): Promise<Reserved>;
export async function price(order: Order, reserve?: FirstReservation): Promise<Reserved | void> {
  const { request } = order;
  const items = { items: request.items, shippingSpeed: request.shippingSpeed };
  let reserved: Reserved | undefined;
  await priceWith(order, reserve ? 'price the order and reserve stock' : 'price the order', async () => {
    if (!reserve) return steps.quoteOrder(items);
    const both = await steps.quoteAndReserveShipments({ ...items, ...reserve });
    reserved = both.reserved;
    return both.quote;
  });
  return reserved;
}

/** How the order's first activity went when it also authorized (Patch.FeedbackInOutbox); null: nothing was reserved, so not asked. */
export type FirstAuthorization = { declined: string | null; undo: Undo } | null;

/**
 * Prices the lines, makes the first reservation and, if anything was reserved, authorizes the total,
 * in one activity (Patch.FeedbackInOutbox). The void is declared before, as the authorization may
 * land; with nothing reserved nothing was authorized, and it is taken back. `authorize` then only
 * settles the answer.
 */
export async function priceReserveAndAuthorize(
  order: Order,
  reserve: FirstReservation,
): Promise<{ reserved: Reserved; authorization: FirstAuthorization }> {
  const { request } = order;
  const undo = voidAuthorization(order);
  order.undo.push(undo);
  let answer: Awaited<ReturnType<typeof steps.quoteReserveAndAuthorize>> | undefined;
  await priceWith(order, 'price the order, reserve stock and authorize the payment', async () => {
    answer = await steps.quoteReserveAndAuthorize({
      items: request.items,
      shippingSpeed: request.shippingSpeed,
      ...reserve,
      token: request.payment.token,
    });
    return answer.quote;
  });
  const { reserved, authorized, declined } = answer!;
  if (!authorized && declined === null) {
    order.undo.splice(order.undo.indexOf(undo), 1);
    return { reserved, authorization: null };
  }
  return { reserved, authorization: { declined, undo } };
}

/** Runs a step that prices the order, and takes its quote; an item no longer sold rejects the order. */
async function priceWith(
  order: Order,
  name: string,
  call: () => Promise<Awaited<ReturnType<typeof steps.quoteOrder>>>,
): Promise<void> {
  const { orderId, view } = order;
  const quote = await order.runStep(name, call, [FailureType.UnknownSku]).catch((error: unknown) => {
    if (failureType(error) !== FailureType.UnknownSku) throw error;
    throw new OrderClosing('rejected', 'order_rejected', failureMessage(error), {
      kind: 'rejected',
      subject: `Order ${orderId} could not be accepted`,
      body: 'An item in your order is no longer sold. Nothing was charged.',
    });
  });
  order.lines = quote.lines;
  view.items = quote.lines.map(({ sku, name, quantity, unitPrice }) => ({ sku, name, quantity, unitPrice }));
  view.totals = quote.totals;
}

/** The undo of an order's authorization: voids it (or refunds a capture whose answer was lost). */
function voidAuthorization(order: Order): Undo {
  const { orderId, view } = order;
  return {
    name: 'void the authorization',
    phase: 'money',
    run: async (act) => {
      const { totals } = order;
      const { voided, refunded = 0 } = await act.voidPayment({ orderId });
      // The gateway had captured after all (the capture's answer was lost): that money came back by refund.
      if (refunded > 0) {
        view.payment = {
          ...view.payment,
          status: 'refunded',
          captured: Math.max(view.payment.captured, refunded),
          refunded: view.payment.refunded + refunded,
        };
        return `refunded ${formatMoney(refunded, totals.currency)}`;
      }
      if (voided === 0) return null;
      view.payment = { ...view.payment, status: 'voided' };
      return `voided ${formatMoney(voided, totals.currency)}`;
    },
  };
}

/**
 * Authorizes the total (its void registered first); a decline closes the order, nothing charged.
 * `first`: the order's first activity already asked (Patch.FeedbackInOutbox); its answer is settled
 * here, the provisional void replaced by `voidUndo`, and the confirmation held for the next write.
 */
export async function authorize(order: Order, voidUndo?: Undo, first?: FirstAuthorization): Promise<void> {
  const { orderId, request, view, totals } = order;
  if (first) order.undo.splice(order.undo.indexOf(first.undo), 1);
  order.undo.push(voidUndo ?? voidAuthorization(order));
  const payment = { orderId, token: request.payment.token, amount: totals.total, currency: totals.currency };
  const confirmation = {
    kind: 'confirmation',
    subject: `Order ${orderId} confirmed`,
    body: `Thank you, ${request.customer.name}. Total ${formatMoney(totals.total, totals.currency)}. You can cancel free of charge until ${view.cancellableUntil}.`,
  } as const;
  const confirm = () => {
    view.payment = { ...view.payment, status: 'authorized', authorized: totals.total };
    order.hold('order_confirmed', 'confirmed', undefined, confirmation);
  };
  if (first) {
    if (first.declined !== null) declined(order, first.declined);
    return confirm();
  }
  await order
    .runStep(
      'authorize the payment',
      () =>
        order.lean
          ? // Lean: the authorization writes the confirmed order and its notice itself.
            order.stepWithMilestone((readModel) => steps.authorizePayment({ ...payment, readModel }), confirm)
          : steps.authorizePayment(payment),
      [FailureType.PaymentDeclined],
    )
    .catch((error: unknown) => {
      if (failureType(error) !== FailureType.PaymentDeclined) throw error;
      declined(order, failureMessage(error));
    });
  if (order.lean) return;
  view.payment = { ...view.payment, status: 'authorized', authorized: totals.total };
  await order.record('order_confirmed', 'confirmed');
  await order.notify(confirmation);
}

/** A declined payment closes the order: nothing was charged. */
function declined(order: Order, message: string): never {
  order.view.payment = { ...order.view.payment, status: 'declined' };
  throw new OrderClosing('payment_failed', 'payment_declined', message, {
    kind: 'payment_failed',
    subject: `Payment for order ${order.orderId} was declined`,
    body: 'Your payment was declined, so the order was not placed. Nothing was charged.',
  });
}

/** The free-cancel buffer: nothing is charged or picked before it ends (or a cancel arrives). */
export async function cancellationBuffer(order: Order): Promise<void> {
  const bufferLeft = Date.parse(order.view.cancellableUntil) - Date.now();
  if (bufferLeft > 0)
    await order.wait(() => order.cancelRequest !== null, bufferLeft, { summary: 'cancellation buffer' });
}

/** Captures the total (its refund registered first). */
export async function capture(order: Order): Promise<void> {
  const { orderId, totals } = order;
  order.undo.push(refundCapture(order));
  await order.runStep('capture the payment', () =>
    steps.capturePayment({ orderId, amount: totals.total, currency: totals.currency }),
  );
  order.captured = true;
  order.view.payment = { ...order.view.payment, status: 'captured', captured: totals.total };
  await order.record('payment_captured', 'processing');
}
