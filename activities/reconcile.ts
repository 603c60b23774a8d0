import { Context, log } from '@temporalio/activity';
import { and, eq, inArray, lt, notInArray, sql } from 'drizzle-orm';
import { durationMs } from '../domain/durations.js';
import { packTaskId, pickTaskId } from '../domain/ids.js';
import type { OrderView, PaymentView } from '../domain/order.js';
import {
  FINAL_STATUSES,
  HANDED_OVER_SHIPMENT_STATUSES,
  type OrderStatus,
  type ShipmentStatus,
} from '../domain/statuses.js';
import { orderEvents, orders, payments, reservations, shipments, waveShipments } from '../db/schema.js';
import type { ActivityDependencies } from './deps.js';
import type { WarehouseLine } from './ports.js';
import { closedOrderWorkflows } from './workflow-state.js';

/** Timeline event types the reconciler writes, once per order each. */
export const RECONCILED_EVENT = 'reconciled';
export const RECONCILE_ATTENTION_EVENT = 'reconcile_needs_attention';

/** An order whose workflow is closed or gone while its read model is not final, and what it still holds. */
export interface OrphanedOrder {
  orderId: string;
  status: OrderStatus;
  /** What Temporal said: TERMINATED, FAILED, TIMED_OUT, CANCELLED, COMPLETED or NOT_FOUND. */
  workflow: string;
  recipient: string;
  /** Of the order's totals; empty before it was priced. */
  currency: string;
  /** A parcel of it is (or was) with the carrier: the goods left, so the money is for a human to settle. */
  leftWarehouse: boolean;
  /** Units it holds on the shelf, e.g. `2 × MUG-CERAMIC at wh-east`. */
  held: string[];
  /** Picked units still in the warehouse, per warehouse, to put back on the shelf. */
  picked: { warehouseId: string; lines: WarehouseLine[]; packed: boolean }[];
  /** Numbers of its shipments whose label is still at the dock (`<orderId>-<n>`). */
  unusedLabels: number[];
  /**
   * Labels a wave bought for its shipments that no shipment recorded as its own (`shipments`) and
   * nobody voided. Absent in what a reconciler of an earlier build returned.
   */
  unusedWaveLabels?: { waveId: string; shipmentId: string }[];
  /** Every warehouse task the workflow may have asked for and not seen done: withdrawn (done or unknown ones are left alone). */
  warehouseTaskIds: string[];
}

const ledgerPayment = (rows: { kind: string; amount: number }[], previous: PaymentView): PaymentView => {
  const sum = (kind: string) => rows.filter((row) => row.kind === kind).reduce((total, row) => total + row.amount, 0);
  const authorized = sum('authorize');
  const captured = sum('capture');
  const refunded = sum('refund');
  const voided = rows.some((row) => row.kind === 'void');
  const status =
    refunded > 0
      ? 'refunded'
      : voided
        ? 'voided'
        : captured > 0
          ? 'captured'
          : authorized > 0
            ? 'authorized'
            : previous.status;
  return { status, authorized, captured, refunded };
};

/**
 * What the order reconciler (workflows/reconcile.ts) needs beyond the order activities it reuses:
 * finding the orders whose workflow can no longer act for them, and closing their read model.
 */
export function createReconcileActivities({ db, now = () => new Date() }: ActivityDependencies) {
  /** Task IDs the order workflow numbers `<orderId>-pick-<n>`: one per answer or timeout it recorded, plus the one in flight. */
  function taskIds(orderId: string, eventTypes: string[]): string[] {
    const asked = (kind: 'pick' | 'pack', answers: string[]) =>
      eventTypes.filter((type) => answers.includes(type)).length + 1;
    const pick = asked('pick', ['picked', 'short_pick', 'pick_late', 'pick_rejected']);
    const pack = asked('pack', ['packed', 'pack_late', 'pack_rejected']);
    return [
      ...Array.from({ length: pick }, (_, i) => `${pickTaskId(orderId)}-${i + 1}`),
      ...Array.from({ length: pack }, (_, i) => `${packTaskId(orderId)}-${i + 1}`),
    ];
  }

  async function facts(
    orderId: string,
  ): Promise<Omit<OrphanedOrder, 'workflow' | 'status' | 'recipient' | 'currency'>> {
    const [held, parcels, events, waveLabels] = await Promise.all([
      db.select().from(reservations).where(eq(reservations.orderId, orderId)),
      db.select().from(shipments).where(eq(shipments.orderId, orderId)),
      db.select({ type: orderEvents.type }).from(orderEvents).where(eq(orderEvents.orderId, orderId)),
      db
        .select({
          waveId: waveShipments.waveId,
          shipmentId: waveShipments.shipmentId,
          trackingNumber: waveShipments.trackingNumber,
        })
        .from(waveShipments)
        .where(and(eq(waveShipments.orderId, orderId), eq(waveShipments.labelStatus, 'sold'))),
    ]);
    const types = events.map((event) => event.type);
    const handedOver = (status: string) => (HANDED_OVER_SHIPMENT_STATUSES as readonly string[]).includes(status);
    const picked = new Map<string, WarehouseLine[]>();
    for (const line of held.filter((row) => row.status === 'picked' && row.quantity > 0)) {
      picked.set(line.warehouseId, [
        ...(picked.get(line.warehouseId) ?? []),
        { sku: line.sku, quantity: line.quantity },
      ]);
    }
    return {
      orderId,
      held: held
        .filter((row) => row.status === 'held' && row.quantity > 0)
        .map((row) => `${row.quantity} × ${row.sku} at ${row.warehouseId}`),
      leftWarehouse:
        held.some((row) => row.status === 'shipped') || parcels.some((parcel) => handedOver(parcel.status)),
      picked: [...picked].map(([warehouseId, lines]) => ({ warehouseId, lines, packed: types.includes('packed') })),
      unusedLabels: parcels
        .filter((parcel) => !handedOver(parcel.status) && (parcel.status as ShipmentStatus) !== 'voided')
        .map((parcel) => Number(parcel.id.slice(orderId.length + 1)))
        .filter((n) => Number.isInteger(n) && n > 0)
        .sort((a, b) => a - b),
      // A wave label the shipment recorded is judged by its row above.
      unusedWaveLabels: waveLabels
        .filter((label) => !parcels.some((parcel) => parcel.trackingNumber === label.trackingNumber))
        .map(({ waveId, shipmentId }) => ({ waveId, shipmentId })),
      warehouseTaskIds: taskIds(orderId, types),
    };
  }

  return {
    /**
     * Non-final orders not written for `grace` whose workflow is closed (for `grace` too) or gone,
     * oldest first, at most `limit`. A running (or paused, or reset) workflow is never a candidate; the
     * grace lets an activity still in flight at a Terminate land before anything is released.
     * Orders already handed to a human by an earlier run are counted, not returned again.
     * `orderIds` looks at those orders only.
     */
    async findOrphanedOrders(input: {
      grace: string;
      limit: number;
      orderIds?: string[];
    }): Promise<{ checked: number; orphaned: OrphanedOrder[]; awaitingHuman: number }> {
      const cutoff = new Date(now().getTime() - durationMs(input.grace));
      // A subquery built, not written: in raw SQL drizzle names the outer column unqualified
      // (`"order_id"`), which inside the subquery means the event's own column, so one order handed
      // to a human made every other order look handed over too, and none was reconciled again.
      const handedToHuman = db
        .select({ one: sql`1` })
        .from(orderEvents)
        .where(and(eq(orderEvents.orderId, orders.orderId), eq(orderEvents.type, RECONCILE_ATTENTION_EVENT)));
      const candidates = await db
        .select({
          orderId: orders.orderId,
          status: orders.status,
          input: orders.input,
          currency: orders.currency,
          awaitingHuman: sql<boolean>`exists ${handedToHuman}`,
        })
        .from(orders)
        .where(
          and(
            notInArray(orders.status, [...FINAL_STATUSES]),
            lt(orders.updatedAt, cutoff),
            input.orderIds ? inArray(orders.orderId, input.orderIds.length ? input.orderIds : ['']) : undefined,
          ),
        )
        .orderBy(orders.updatedAt, orders.orderId);
      const fresh = candidates.filter((row) => !row.awaitingHuman);
      const closed = await closedOrderWorkflows(
        Context.current().client,
        fresh.map((row) => row.orderId),
      );
      const orphaned: OrphanedOrder[] = [];
      for (const row of fresh) {
        const state = closed.get(row.orderId);
        if (!state || (state.closedAt && state.closedAt > cutoff)) continue;
        if (orphaned.length >= input.limit) break;
        orphaned.push({
          ...(await facts(row.orderId)),
          status: row.status as OrderStatus,
          workflow: state.status,
          recipient: row.input.request.customer.email,
          currency: row.currency ?? '',
        });
      }
      log.info('orders of closed workflows found', { checked: fresh.length, orphaned: orphaned.length });
      return { checked: candidates.length, orphaned, awaitingHuman: candidates.length - fresh.length };
    },

    /**
     * Closes an orphaned order's read model once: `cancelled` (everything released), or
     * `needs_attention` (its parcel left; the money is for a human), with a timeline event saying what
     * was released and why. A final order, or one already recorded, is left as it is.
     */
    async recordReconciled(input: {
      orderId: string;
      outcome: 'cancelled' | 'needs_attention';
      reason: string;
      released: string[];
      voidedLabels: string[];
    }): Promise<{ recorded: boolean }> {
      const type = input.outcome === 'cancelled' ? RECONCILED_EVENT : RECONCILE_ATTENTION_EVENT;
      return db.transaction(async (tx) => {
        const [row] = await tx.select().from(orders).where(eq(orders.orderId, input.orderId)).for('update');
        if (!row || (FINAL_STATUSES as readonly string[]).includes(row.status)) return { recorded: false };
        const events = await tx
          .select({ seq: orderEvents.seq, type: orderEvents.type })
          .from(orderEvents)
          .where(eq(orderEvents.orderId, input.orderId));
        if (events.some((event) => event.type === type)) return { recorded: false };
        // After every event the workflow wrote, so a late write of its (older version) never wins.
        const seq = Math.max(row.version, ...events.map((event) => event.seq)) + 1;
        const ledger = await tx
          .select({ kind: payments.kind, amount: payments.amount })
          .from(payments)
          .where(eq(payments.orderId, input.orderId));
        const detail = `${input.reason}; ${input.released.length ? `released: ${input.released.join(', ')}` : 'nothing was held'}`;
        const view: Omit<OrderView, 'timeline'> = {
          ...row.view,
          status: input.outcome,
          payment: ledgerPayment(ledger, row.view.payment),
          shipments: (row.view.shipments ?? []).map((shipment) =>
            shipment.trackingNumber && input.voidedLabels.includes(shipment.trackingNumber)
              ? { ...shipment, status: 'voided' as const, trackingNumber: null }
              : shipment,
          ),
          ...(input.outcome === 'cancelled'
            ? {
                cancellation: {
                  reason: input.reason,
                  requestedBy: 'reconciler',
                  free: !ledger.some((entry) => entry.kind === 'capture'),
                },
                attention: null,
              }
            : { attention: input.reason }),
        };
        await tx
          .update(orders)
          .set({ status: input.outcome, version: seq, view, updatedAt: new Date() })
          .where(eq(orders.orderId, input.orderId));
        await tx
          .insert(orderEvents)
          .values({ orderId: input.orderId, seq, type, status: input.outcome, detail, at: now() });
        return { recorded: true };
      });
    },
  };
}
