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
      const kind = input.about ? `${input.kind}:${input.about}` : input.kind;
      await db
        .insert(notifications)
        .values({ orderId: input.orderId, kind, recipient: input.recipient, subject: input.subject, body: input.body })
        .onConflictDoNothing();
    },
  };
}

/** What the notifier is told a message is, so a retried hand-over is never delivered twice. */
export function notificationIdempotencyKey(message: { orderId: string; kind: string }): string {
  return `${message.orderId}:${message.kind}`;
}
