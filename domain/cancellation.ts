import { FailureType } from './failures.js';
import type { Actor } from './schemas.js';
import { FINAL_STATUSES, type OrderStatus } from './statuses.js';

export interface CancellableState {
  status: OrderStatus;
  /** Money was captured: the free-cancel window is over. */
  captured: boolean;
  /** The parcel is (being) handed to the carrier: from here on only a return helps. */
  leftWarehouse: boolean;
  /** The order is already closing (cancelling, failing) and will be final soon. */
  closing: boolean;
}

export interface Refusal {
  failureType: FailureType;
  message: string;
}

/**
 * Who cancels when an operator presses Cancel in Temporal Web (or runs `temporal workflow cancel`):
 * Temporal does not tell the workflow who it was, and only admins reach those controls.
 */
export const TEMPORAL_OPERATOR: Actor = { id: 'temporal-operator', role: 'admin' };

/** Roles that may cancel after the free-cancel window, paying for the undo. */
const LATE_CANCEL_ROLES: readonly Actor['role'][] = ['support', 'admin'];

/**
 * Why this caller may not cancel this order now, or null when they may. Inside the free-cancel
 * window anyone who may act on orders cancels; after it, only support; once shipped, nobody.
 */
export function cancellationRefusal(order: CancellableState, actor: Actor): Refusal | null {
  if (order.closing || FINAL_STATUSES.includes(order.status)) {
    return {
      failureType: FailureType.OrderClosed,
      message: `order is already ${order.closing ? 'closing' : order.status}`,
    };
  }
  if (order.leftWarehouse) {
    return {
      failureType: FailureType.AlreadyShipped,
      message: 'order has shipped and can no longer be cancelled; a return is possible after delivery',
    };
  }
  if (order.captured && !LATE_CANCEL_ROLES.includes(actor.role)) {
    return {
      failureType: FailureType.CancellationNotAllowed,
      message: 'the free-cancel window has ended; support can still cancel until the parcel ships',
    };
  }
  return null;
}
