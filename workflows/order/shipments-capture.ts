import { shipmentId } from '../../domain/ids.js';
import { shipmentAmount, shippingShare } from '../../domain/shares.js';
import { formatMoney } from '../outcomes.js';
import { steps } from '../proxies.js';
import type { Planned } from './shipments-plan.js';
import type { Order, Undo } from './state.js';

/** The undo of the authorization: voids what no shipment captured (all of it before the first capture). */
export function voidUncaptured(order: Order, planned: Planned[]): Undo {
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
export async function captureShare(order: Order, planned: Planned): Promise<void> {
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
      const payment = order.children.payments.get(shipment);
      if (payment) order.children.payments.set(shipment, { ...payment, status: 'refunded', refunded });
      updatePayment(order);
      return `refunded ${formatMoney(refunded, totals.currency)}`;
    },
  };
  order.undo.push(undo);
  order.children.shareUndos.set(shipment, undo);
  const capture = { orderId, shipment, amount, currency: totals.currency };
  const detail =
    planned.lines.length && order.view.shipments.length > 1
      ? `${shipmentId(orderId, shipment)}: ${formatMoney(amount, totals.currency)}`
      : undefined;
  const captured = () => {
    order.children.payments.set(shipment, { status: 'captured', authorized: amount, captured: amount, refunded: 0 });
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
        () => order.children.payments.delete(shipment),
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

/** The order's payment is the sum of its shipments' shares. */
export function updatePayment(order: Order): void {
  const shares = [...order.children.payments.values()];
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
