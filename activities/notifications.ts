import { notifications } from '../db/schema.js';
import type { ActivityDependencies } from './deps.js';

export type NotificationKind =
  | 'confirmation'
  | 'shipped'
  | 'out_for_delivery'
  | 'delivered'
  | 'delayed'
  | 'payment_failed'
  | 'rejected'
  | 'backordered'
  | 'backorder_expired'
  | 'cancelled'
  | 'delivery_failed'
  | 'reshipped'
  | 'refund_issued'
  | 'return_authorized'
  | 'return_received'
  | 'return_expired'
  | 'feedback_request';

/** A message for the customer, as a workflow asks for it (the order gives the recipient). */
export interface CustomerNotice {
  kind: NotificationKind;
  about?: string;
  subject: string;
  body: string;
  /** Not sent before this (ISO time): a notice scheduled ahead, such as the feedback request. */
  sendAt?: string;
}

/** The outbox row of a notice: keyed by kind, or kind and subject of several of a kind. */
export function notificationRow(orderId: string, recipient: string, notice: CustomerNotice) {
  const kind = notice.about ? `${notice.kind}:${notice.about}` : notice.kind;
  const row = { orderId, kind, recipient, subject: notice.subject, body: notice.body };
  // A scheduled notice waits in the outbox, untried, until it is due (the dispatcher sends due rows only).
  return notice.sendAt ? { ...row, nextAttemptAt: new Date(notice.sendAt) } : row;
}

/**
 * Records a customer message once per order and key, in the `notifications` outbox; the dispatcher
 * (notification-dispatcher.ts) hands it to the notifier later, idempotent by `<orderId>:<key>`. So a
 * notifier outage never holds up an order: this is as quick and as reliable as the read model.
 * The key is the kind, or kind and subject of several of a kind (`return_received:<returnId>`).
 */
export function createNotificationActivities({ db }: ActivityDependencies) {
  return {
    async notifyCustomer(input: {
      orderId: string;
      kind: NotificationKind;
      about?: string;
      recipient: string;
      subject: string;
      body: string;
    }): Promise<void> {
      await db
        .insert(notifications)
        .values(notificationRow(input.orderId, input.recipient, input))
        .onConflictDoNothing();
    },
  };
}

/** What the notifier is told a message is, so a retried hand-over is never delivered twice. */
export function notificationIdempotencyKey(message: { orderId: string; kind: string }): string {
  return `${message.orderId}:${message.kind}`;
}
