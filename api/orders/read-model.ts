import { and, asc, desc, eq, gt, isNotNull, isNull, lt, lte, or, sql, type SQL } from 'drizzle-orm';
import { initialOrderView, type OrderView, type TimelineEvent } from '../../domain/order.js';
import type { OrderStatus } from '../../domain/statuses.js';
import type { Database } from '../../db/client.js';
import { notifications, orderEvents, orders } from '../../db/schema.js';

/** Reads of the orders read model: what the API answers from, without waking a workflow. */

export async function findOrder(db: Database, orderId: string) {
  const [row] = await db.select().from(orders).where(eq(orders.orderId, orderId));
  return row ?? null;
}

/** A message the customer was sent about the order. */
export interface CustomerNotification {
  kind: string;
  subject: string;
  sentAt: string;
}

/** A message recorded for the customer that the notifier has not accepted yet (the outbox). */
export interface PendingNotification {
  kind: string;
  subject: string;
  recordedAt: string;
  attempts: number;
  lastError: string | null;
  nextAttemptAt: string;
}

/** The order as the API answers it: the workflow's view, its timeline and the customer's messages. */
export type OrderResource = OrderView & {
  notifications: CustomerNotification[];
  pendingNotifications: PendingNotification[];
};

async function notificationsOf(
  db: Database,
  orderId: string,
): Promise<Pick<OrderResource, 'notifications' | 'pendingNotifications'>> {
  const [sent, pending] = await Promise.all([
    db
      .select()
      .from(notifications)
      .where(and(eq(notifications.orderId, orderId), isNotNull(notifications.sentAt)))
      .orderBy(asc(notifications.sentAt), asc(notifications.id)),
    db
      .select()
      .from(notifications)
      // Late or failing notices; one scheduled ahead and not yet due (the feedback request) is not late.
      .where(
        and(
          eq(notifications.orderId, orderId),
          isNull(notifications.sentAt),
          or(gt(notifications.attempts, 0), lte(notifications.nextAttemptAt, sql`now()`)),
        ),
      )
      .orderBy(asc(notifications.id)),
  ]);
  return {
    notifications: sent.map((message) => ({
      kind: message.kind,
      subject: message.subject,
      sentAt: message.sentAt!.toISOString(),
    })),
    pendingNotifications: pending.map((message) => ({
      kind: message.kind,
      subject: message.subject,
      recordedAt: message.createdAt.toISOString(),
      attempts: message.attempts,
      lastError: message.lastError,
      nextAttemptAt: message.nextAttemptAt.toISOString(),
    })),
  };
}

/** A view the workflow answered (an update's result) as the API answers orders. */
export async function asOrderResource(db: Database, view: OrderView): Promise<OrderResource> {
  return { ...view, ...(await notificationsOf(db, view.orderId)) };
}

export async function orderView(db: Database, orderId: string): Promise<OrderResource | null> {
  const row = await findOrder(db, orderId);
  if (!row) return null;
  const [events, told] = await Promise.all([
    db.select().from(orderEvents).where(eq(orderEvents.orderId, orderId)).orderBy(asc(orderEvents.seq)),
    notificationsOf(db, orderId),
  ]);
  const timeline: TimelineEvent[] = events.map((event) => ({
    seq: event.seq,
    at: event.at.toISOString(),
    type: event.type,
    status: event.status as OrderStatus,
    ...(event.detail ? { detail: event.detail } : {}),
  }));
  // jsonb keeps keys sorted; answer in the view's own field order, which reads better.
  const fieldOrder = Object.keys(initialOrderView(row.input)) as (keyof OrderView)[];
  const view = Object.fromEntries(
    fieldOrder.map((key) => [
      key,
      // Rows written before priorities existed have none: they ran as normal ones.
      key === 'timeline' ? timeline : key === 'priority' ? (row.view.priority ?? 'normal') : row.view[key],
    ]),
  ) as unknown as OrderView;
  return { ...view, ...told };
}

interface Cursor {
  createdAt: string;
  orderId: string;
}

function encodeCursor(cursor: Cursor): string {
  return Buffer.from(JSON.stringify(cursor)).toString('base64url');
}

export function decodeCursor(text: string): Cursor | null {
  try {
    const value = JSON.parse(Buffer.from(text, 'base64url').toString('utf8')) as Cursor;
    return typeof value.createdAt === 'string' &&
      typeof value.orderId === 'string' &&
      !Number.isNaN(Date.parse(value.createdAt))
      ? value
      : null;
  } catch {
    return null;
  }
}

/** Newest first, keyset-paginated on (created_at, order_id) so pages never skip or repeat rows. */
export async function listOrders(
  db: Database,
  filter: { status?: string; customerId?: string; limit: number; cursor?: Cursor },
) {
  const conditions: SQL[] = [];
  if (filter.status) conditions.push(eq(orders.status, filter.status));
  if (filter.customerId) conditions.push(eq(orders.customerId, filter.customerId));
  if (filter.cursor) {
    const at = new Date(filter.cursor.createdAt);
    conditions.push(
      or(lt(orders.createdAt, at), and(eq(orders.createdAt, at), lt(orders.orderId, filter.cursor.orderId)))!,
    );
  }
  const rows = await db
    .select({
      orderId: orders.orderId,
      status: orders.status,
      customerId: orders.customerId,
      channel: orders.channel,
      total: orders.total,
      currency: orders.currency,
      createdAt: orders.createdAt,
      updatedAt: orders.updatedAt,
    })
    .from(orders)
    .where(conditions.length ? and(...conditions) : sql`true`)
    .orderBy(desc(orders.createdAt), desc(orders.orderId))
    .limit(filter.limit + 1);
  const page = rows.slice(0, filter.limit);
  const last = page.at(-1);
  return {
    orders: page.map((row) => ({
      ...row,
      createdAt: row.createdAt.toISOString(),
      updatedAt: row.updatedAt.toISOString(),
    })),
    nextCursor:
      rows.length > filter.limit && last
        ? encodeCursor({ createdAt: last.createdAt.toISOString(), orderId: last.orderId })
        : null,
  };
}
