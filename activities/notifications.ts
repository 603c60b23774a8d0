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
  | 'cancelled';

/** Records a customer message once per order and kind, then hands it to the notifier (idempotent by the same key). */
export function createNotificationActivities({ db, notifier }: ActivityDependencies) {
  return {
    async notifyCustomer(input: { orderId: string; kind: NotificationKind; recipient: string; subject: string; body: string }): Promise<void> {
      await db.insert(notifications).values(input).onConflictDoNothing();
      await notifier.send({ idempotencyKey: `${input.orderId}:${input.kind}`, recipient: input.recipient, subject: input.subject, body: input.body });
    },
  };
}
