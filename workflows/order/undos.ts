import { formatMoney } from '../outcomes.js';
import type { Order, Undo } from './state.js';

// The undos registered more than once (a reship reserves again; the hand-over keeps only these).

export function releaseReservation(order: Order): Undo {
  return {
    name: 'release the reservation',
    phase: 'reservation',
    run: async (act) => (await act.releaseStock(order.subject), null),
  };
}

export function refundCapture(order: Order): Undo {
  return {
    name: 'refund the capture',
    phase: 'money',
    run: async (act) => {
      const { refunded } = await act.refundPayment({ ...order.subject, reason: 'cancel' });
      if (refunded === 0) return null;
      order.view.payment = {
        ...order.view.payment,
        status: 'refunded' as const,
        refunded: order.view.payment.refunded + refunded,
      };
      return `refunded ${formatMoney(refunded, order.totals.currency)}`;
    },
  };
}
