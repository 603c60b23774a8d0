import { and, eq, inArray, isNull, sql } from 'drizzle-orm';
import type { OrderView, OrderWorkflowInput } from '../domain/order.js';
import { HANDED_OVER_SHIPMENT_STATUSES } from '../domain/statuses.js';
import { notifications, orderEvents, orders, shipments } from '../db/schema.js';
import type { ActivityDependencies } from './deps.js';
import { countBusinessEvent } from './metrics.js';
import { notificationRow, type CustomerNotice } from './notifications.js';

/** The view's shipment statuses that are a label's own (written to its `shipments` row). */
const LABEL_PROGRESS: readonly string[] = ['label_created', ...HANDED_OVER_SHIPMENT_STATUSES];

/** What a workflow writes to the read model in one go: its view, and the notices that came with it. */
export interface ReadModelWrite {
  order: OrderWorkflowInput;
  view: OrderView;
  notices?: CustomerNotice[];
  /** Outbox keys of scheduled notices to take back if they have not gone out (a full return withdraws the feedback request). */
  withdraw?: string[];
}

/**
 * A business activity that also writes the order's read model once its effect has landed
 * (Patch.LeanBookkeeping): the milestone its success makes true is written by the step itself, not
 * by an activity of its own. A retry repeats the write harmlessly (an older view never replaces a
 * newer one; events and notices are written once).
 */
export function withReadModelWrite<I extends object, O>(
  activity: (input: I) => Promise<O>,
  write: (update: ReadModelWrite) => Promise<void>,
): (input: I & { readModel?: ReadModelWrite }) => Promise<O> {
  return async ({ readModel, ...input }) => {
    const result = await activity(input as unknown as I);
    if (readModel) await write(readModel);
    return result;
  };
}

/**
 * Writes the workflow's view of an order to the read model: the snapshot row (never replaced by an
 * older one), every timeline event not yet stored, and the customer notices that came with it into
 * the `notifications` outbox, all in one transaction. Running it twice changes nothing.
 */
export function createReadModelActivities({ db }: ActivityDependencies) {
  return {
    async recordOrderUpdate({ order, view, notices = [], withdraw = [] }: ReadModelWrite): Promise<void> {
      const { timeline, ...snapshot } = view;
      const version = timeline.at(-1)?.seq ?? 0;
      const columns = {
        status: snapshot.status,
        version,
        view: snapshot,
        total: snapshot.totals?.total ?? null,
        currency: snapshot.totals?.currency ?? null,
        cancellableUntil: new Date(snapshot.cancellableUntil),
        returnableUntil: snapshot.returnableUntil ? new Date(snapshot.returnableUntil) : null,
        updatedAt: new Date(),
      };
      const parked = await db.transaction(async (tx) => {
        const [before] = await tx
          .select({ status: orders.status })
          .from(orders)
          .where(eq(orders.orderId, snapshot.orderId))
          .for('update');
        const written = await tx
          .insert(orders)
          .values({
            orderId: snapshot.orderId,
            customerId: snapshot.customer.id,
            channel: snapshot.channel,
            requestHash: order.requestHash,
            input: order,
            createdAt: new Date(snapshot.receivedAt),
            ...columns,
          })
          .onConflictDoUpdate({ target: orders.orderId, set: columns, setWhere: sql`${orders.version} <= ${version}` })
          .returning({ status: orders.status });
        if (timeline.length > 0) {
          await tx
            .insert(orderEvents)
            .values(
              timeline.map((event) => ({
                orderId: snapshot.orderId,
                seq: event.seq,
                type: event.type,
                status: event.status,
                detail: event.detail ?? null,
                at: new Date(event.at),
              })),
            )
            .onConflictDoNothing();
        }
        // The outbox, once per order and key (activities/notifications.ts); the dispatcher sends them.
        if (notices.length > 0)
          await tx
            .insert(notifications)
            .values(notices.map((notice) => notificationRow(snapshot.orderId, order.request.customer.email, notice)))
            .onConflictDoNothing();
        // A withdrawn notice that is still waiting is deleted; one already sent (or being sent) stays.
        if (withdraw.length > 0)
          await tx
            .delete(notifications)
            .where(
              and(
                eq(notifications.orderId, snapshot.orderId),
                inArray(notifications.kind, withdraw),
                isNull(notifications.sentAt),
                eq(notifications.attempts, 0),
              ),
            );
        // Each parcel's carrier progress goes to its label's row (the view's other states are the order's),
        // forward only: a snapshot that applied a shipment's older report must not undo a void (the
        // shipping activities' own write, not in LABEL_PROGRESS) nor a later scan.
        const progress = sql.raw(`array[${LABEL_PROGRESS.map((status) => `'${status}'`).join(', ')}]::text[]`);
        for (const shipment of snapshot.shipments) {
          if (!shipment.trackingNumber || !LABEL_PROGRESS.includes(shipment.status)) continue;
          await tx
            .update(shipments)
            .set({ status: shipment.status, updatedAt: new Date() })
            .where(
              and(
                eq(shipments.orderId, snapshot.orderId),
                eq(shipments.trackingNumber, shipment.trackingNumber),
                sql`array_position(${progress}, ${shipments.status}) < array_position(${progress}, ${shipment.status}::text)`,
              ),
            );
        }
        // The row moved into needs_attention by this write (a repeat of the same snapshot moves nothing).
        return written[0]?.status === 'needs_attention' && before?.status !== 'needs_attention';
      });
      if (parked) countBusinessEvent('orders_parked');
    },
  };
}
