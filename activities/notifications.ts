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
 * Records a customer message once per order and key, then hands it to the notifier (idempotent by
 * the same key). The key is the kind, or kind and subject of several of a kind (`return_received:<returnId>`).
 */
export function createNotificationActivities({ db, notifier }: ActivityDependencies) {
  return {
    async notifyCustomer(input: { orderId: string; kind: NotificationKind; about?: string; recipient: string; subject: string; body: string }): Promise<void> {
      const kind = input.about ? `${input.kind}:${input.about}` : input.kind;
      await db.insert(notifications).values({ orderId: input.orderId, kind, recipient: input.recipient, subject: input.subject, body: input.body }).onConflictDoNothing();
      await notifier.send({ idempotencyKey: `${input.orderId}:${kind}`, recipient: input.recipient, subject: input.subject, body: input.body });
    },
  };
}
