import { ApplicationFailure } from '@temporalio/activity';
import { and, eq, gte, inArray, sql } from 'drizzle-orm';
import { FailureType } from '../domain/failures.js';
import { distanceKm, locateAddress } from '../domain/geo.js';
import { effectKey, shipmentId } from '../domain/ids.js';
import { type AllocationLine, type PartialFulfillmentPolicy, planAllocation } from '../domain/allocation.js';
import type { ShippingAddress } from '../domain/schemas.js';
import type { Database } from '../db/client.js';
import { reservations, stock, stockMovements, warehouses } from '../db/schema.js';
import { moveStock, type Transaction } from '../db/stock.js';
import type { ActivityDependencies } from './deps.js';
import { countBusinessEvent } from './metrics.js';
import type { WarehouseLine } from './ports.js';

class NotEnoughAtWarehouse extends Error {}
class AlreadyReserved extends Error {}

/** Units reserved for one shipment of an order, at one warehouse. */
export interface ReservedShipment {
  shipment: number;
  warehouseId: string;
  lines: AllocationLine[];
}

/** The order's lines less what the shipments hold. */
function missingOf(lines: readonly WarehouseLine[], held: readonly ReservedShipment[]): AllocationLine[] {
  return lines
    .map((line) => ({
      sku: line.sku,
      quantity:
        line.quantity - held.flatMap((s) => s.lines).reduce((sum, l) => sum + (l.sku === line.sku ? l.quantity : 0), 0),
    }))
    .filter((line) => line.quantity > 0);
}

type ReservationStatus = 'held' | 'picked' | 'shipped' | 'released' | 'returned';

/** Warehouses that hold every line right now, nearest to the address first. */
async function candidateWarehouses(db: Database, lines: WarehouseLine[], address: ShippingAddress): Promise<string[]> {
  const rows = await db
    .select({
      warehouseId: stock.warehouseId,
      sku: stock.sku,
      available: sql<number>`${stock.onHand} - ${stock.reserved}`,
    })
    .from(stock)
    .where(
      inArray(
        stock.sku,
        lines.map((line) => line.sku),
      ),
    );
  const all = await db.select().from(warehouses);
  const destination = locateAddress(address);
  return all
    .filter((warehouse) =>
      lines.every((line) =>
        rows.some((row) => row.warehouseId === warehouse.id && row.sku === line.sku && row.available >= line.quantity),
      ),
    )
    .map((warehouse) => ({ id: warehouse.id, distance: destination ? distanceKm(destination, warehouse) : 0 }))
    .sort((a, b) => a.distance - b.distance || a.id.localeCompare(b.id))
    .map((warehouse) => warehouse.id);
}

/**
 * Moves every reservation line of an order in one status to another, each line's stock change
 * recorded under its own key (order, step, round, sku), so a retry changes nothing.
 */
async function settleReservations(
  db: Database,
  orderId: string,
  from: ReservationStatus,
  to: ReservationStatus,
  change: (line: typeof reservations.$inferSelect) => { kind: string; onHandDelta: number; reservedDelta: number },
  shipment?: number,
): Promise<void> {
  await db.transaction(async (tx: Transaction) => {
    const lines = await tx
      .select()
      .from(reservations)
      .where(
        and(
          eq(reservations.orderId, orderId),
          eq(reservations.status, from),
          shipment === undefined ? undefined : eq(reservations.shipment, shipment),
        ),
      )
      .for('update');
    for (const line of lines) {
      const movement = change(line);
      if (line.quantity > 0 && (movement.onHandDelta !== 0 || movement.reservedDelta !== 0)) {
        await moveStock(tx, {
          key: movementKey(orderId, line.shipment, `${movement.kind}:${line.round}:${line.sku}`),
          warehouseId: line.warehouseId,
          sku: line.sku,
          orderId,
          ...movement,
        });
      }
      await tx
        .update(reservations)
        .set({ status: to, updatedAt: new Date() })
        .where(
          and(
            eq(reservations.orderId, orderId),
            eq(reservations.shipment, line.shipment),
            eq(reservations.round, line.round),
            eq(reservations.sku, line.sku),
          ),
        );
    }
  });
}

/**
 * The key of one stock movement of an order: `<orderId>:<step>` for the old shape's one parcel,
 * `<orderId>-<n>:<step>` for shipment n (one sku may move for two shipments in one order).
 */
export function movementKey(orderId: string, shipment: number, step: string): string {
  return effectKey(shipment === 0 ? orderId : shipmentId(orderId, shipment), step);
}

export function createInventoryActivities({ db }: ActivityDependencies) {
  async function reservedIn(orderId: string, round: number, shipment = 0): Promise<string | null> {
    const [line] = await db
      .select()
      .from(reservations)
      .where(
        and(eq(reservations.orderId, orderId), eq(reservations.shipment, shipment), eq(reservations.round, round)),
      );
    return line?.warehouseId ?? null;
  }

  /** What an order holds for shipments `from` on (round 1), as planned shipments; empty when nothing. */
  async function heldFor(orderId: string, from: number): Promise<ReservedShipment[]> {
    const rows = await db
      .select()
      .from(reservations)
      .where(and(eq(reservations.orderId, orderId), gte(reservations.shipment, from), eq(reservations.round, 1)));
    const byShipment = new Map<number, ReservedShipment>();
    for (const row of rows.sort((a, b) => a.shipment - b.shipment || a.sku.localeCompare(b.sku))) {
      const planned = byShipment.get(row.shipment) ?? {
        shipment: row.shipment,
        warehouseId: row.warehouseId,
        lines: [],
      };
      planned.lines.push({ sku: row.sku, quantity: row.quantity });
      byShipment.set(row.shipment, planned);
    }
    return [...byShipment.values()];
  }

  return {
    /**
     * Reserves every line at the nearest warehouse that holds them all. Each line is a conditional
     * update (`on_hand - reserved >= quantity`), so concurrent orders can never oversell; lines are
     * taken in sku order so two orders never deadlock on each other's rows. `round` numbers the
     * reservations of one order (a short pick starts a new round).
     */
    async reserveStock(input: {
      orderId: string;
      /** Reserve for this shipment of the order (its own rounds); orders of the old shape: none. */
      shipment?: number;
      round: number;
      lines: WarehouseLine[];
      shippingAddress: ShippingAddress;
    }): Promise<{ warehouseId: string }> {
      const shipment = input.shipment ?? 0;
      const already = await reservedIn(input.orderId, input.round, shipment);
      if (already) return { warehouseId: already };
      const lines = [...input.lines].sort((a, b) => a.sku.localeCompare(b.sku));
      for (const warehouseId of await candidateWarehouses(db, lines, input.shippingAddress)) {
        try {
          await db.transaction(async (tx) => {
            for (const line of lines) {
              // The movement's key goes first: a concurrent attempt of this same activity waits
              // on it and then finds the order already reserved, instead of competing for stock.
              const recorded = await tx
                .insert(stockMovements)
                .values({
                  idempotencyKey: movementKey(input.orderId, shipment, `reserve:${input.round}:${line.sku}`),
                  warehouseId,
                  sku: line.sku,
                  kind: 'reserve',
                  onHandDelta: 0,
                  reservedDelta: line.quantity,
                  orderId: input.orderId,
                })
                .onConflictDoNothing()
                .returning({ id: stockMovements.id });
              if (recorded.length === 0) throw new AlreadyReserved();
              const taken = await tx
                .update(stock)
                .set({ reserved: sql`${stock.reserved} + ${line.quantity}` })
                .where(
                  and(
                    eq(stock.warehouseId, warehouseId),
                    eq(stock.sku, line.sku),
                    sql`${stock.onHand} - ${stock.reserved} >= ${line.quantity}`,
                  ),
                )
                .returning({ sku: stock.sku });
              if (taken.length === 0) throw new NotEnoughAtWarehouse();
              await tx.insert(reservations).values({
                orderId: input.orderId,
                shipment,
                round: input.round,
                sku: line.sku,
                warehouseId,
                quantity: line.quantity,
                status: 'held',
              });
            }
          });
          return { warehouseId };
        } catch (error) {
          if (error instanceof AlreadyReserved) {
            const held = await reservedIn(input.orderId, input.round, shipment);
            if (held) return { warehouseId: held };
          }
          if (!(error instanceof NotEnoughAtWarehouse)) throw error;
          countBusinessEvent('oversell_refused');
          // Someone took the last units between our look and our update: try the next nearest.
        }
      }
      // A concurrent attempt of this activity may have reserved it while we looked.
      const heldMeanwhile = await reservedIn(input.orderId, input.round, shipment);
      if (heldMeanwhile) return { warehouseId: heldMeanwhile };
      countBusinessEvent('oversell_refused');
      throw ApplicationFailure.nonRetryable(
        `no warehouse holds every line of order ${input.orderId}`,
        FailureType.OutOfStock,
      );
    },

    /**
     * Plans the order's shipments (domain/allocation.ts) over the stock free right now and reserves
     * them, numbered from `firstShipment`, in one transaction: every line a conditional update that
     * cannot oversell, its movement keyed by shipment, round 1 and sku. Someone taking the last units
     * between the look and the update makes the whole plan roll back and be made again. A retry
     * answers what the first attempt reserved. `missing` is what no warehouse holds now (with
     * `wait_complete` or `reject`, everything when the network cannot cover the order: nothing is reserved).
     */
    async reserveShipments(input: {
      orderId: string;
      firstShipment: number;
      lines: WarehouseLine[];
      shippingAddress: ShippingAddress;
      policy: PartialFulfillmentPolicy;
    }): Promise<{ shipments: ReservedShipment[]; missing: AllocationLine[] }> {
      const already = await heldFor(input.orderId, input.firstShipment);
      if (already.length > 0) return { shipments: already, missing: missingOf(input.lines, already) };
      for (let attempt = 1; ; attempt++) {
        const lines = [...input.lines].sort((a, b) => a.sku.localeCompare(b.sku));
        const [free, all] = await Promise.all([
          db
            .select({
              warehouseId: stock.warehouseId,
              sku: stock.sku,
              available: sql<number>`${stock.onHand} - ${stock.reserved}`,
            })
            .from(stock)
            .where(
              inArray(
                stock.sku,
                lines.map((line) => line.sku),
              ),
            ),
          db.select().from(warehouses),
        ]);
        const plan = planAllocation({
          lines,
          warehouses: all.map((w) => ({ id: w.id, location: { lat: w.lat, lon: w.lon } })),
          stock: free.map((row) => ({ ...row, available: Number(row.available) })),
          destination: locateAddress(input.shippingAddress),
          policy: input.policy,
        });
        const shipments = plan.shipments.map((planned, index) => ({
          shipment: input.firstShipment + index,
          ...planned,
        }));
        try {
          await db.transaction(async (tx) => {
            for (const planned of shipments) {
              for (const line of planned.lines) {
                const recorded = await tx
                  .insert(stockMovements)
                  .values({
                    idempotencyKey: movementKey(input.orderId, planned.shipment, `reserve:1:${line.sku}`),
                    warehouseId: planned.warehouseId,
                    sku: line.sku,
                    kind: 'reserve',
                    onHandDelta: 0,
                    reservedDelta: line.quantity,
                    orderId: input.orderId,
                  })
                  .onConflictDoNothing()
                  .returning({ id: stockMovements.id });
                if (recorded.length === 0) throw new AlreadyReserved();
                const taken = await tx
                  .update(stock)
                  .set({ reserved: sql`${stock.reserved} + ${line.quantity}` })
                  .where(
                    and(
                      eq(stock.warehouseId, planned.warehouseId),
                      eq(stock.sku, line.sku),
                      sql`${stock.onHand} - ${stock.reserved} >= ${line.quantity}`,
                    ),
                  )
                  .returning({ sku: stock.sku });
                if (taken.length === 0) throw new NotEnoughAtWarehouse();
                await tx.insert(reservations).values({
                  orderId: input.orderId,
                  shipment: planned.shipment,
                  round: 1,
                  sku: line.sku,
                  warehouseId: planned.warehouseId,
                  quantity: line.quantity,
                  status: 'held',
                });
              }
            }
          });
          return { shipments, missing: plan.missing };
        } catch (error) {
          if (error instanceof AlreadyReserved) {
            const held = await heldFor(input.orderId, input.firstShipment);
            if (held.length > 0) return { shipments: held, missing: missingOf(input.lines, held) };
          }
          if (!(error instanceof NotEnoughAtWarehouse)) throw error;
          countBusinessEvent('oversell_refused');
          // Someone took the last units between our look and our update: plan again (a retry of the activity past a few).
          if (attempt >= 5) throw new Error(`stock kept moving while order ${input.orderId} was planned; try again`);
        }
      }
    },

    /** Gives held units back to the shelf's available count. */
    async releaseStock(input: { orderId: string; shipment?: number }): Promise<void> {
      await settleReservations(
        db,
        input.orderId,
        'held',
        'released',
        (line) => ({
          kind: 'release',
          onHandDelta: 0,
          reservedDelta: -line.quantity,
        }),
        input.shipment,
      );
    },

    /** The warehouse picked the order: its units leave the shelf, and the reservation is used up. */
    async recordPick(input: { orderId: string; shipment?: number }): Promise<void> {
      await settleReservations(
        db,
        input.orderId,
        'held',
        'picked',
        (line) => ({
          kind: 'pick',
          onHandDelta: -line.quantity,
          reservedDelta: -line.quantity,
        }),
        input.shipment,
      );
    },

    /** The carrier has the parcel: its picked units are gone for good (a cancel no longer puts them back). */
    async recordShipped(input: { orderId: string; shipment?: number }): Promise<void> {
      await settleReservations(
        db,
        input.orderId,
        'picked',
        'shipped',
        () => ({
          kind: 'ship',
          onHandDelta: 0,
          reservedDelta: 0,
        }),
        input.shipment,
      );
    },

    /** Picked units came back to the shelf (the order was cancelled before it shipped). */
    async returnPickedToShelf(input: { orderId: string; shipment?: number }): Promise<void> {
      await settleReservations(
        db,
        input.orderId,
        'picked',
        'returned',
        (line) => ({
          kind: 'return_to_shelf',
          onHandDelta: line.quantity,
          reservedDelta: 0,
        }),
        input.shipment,
      );
    },

    /**
     * The picker found fewer units than the count said: those units do not exist, so they leave the
     * count (and the order's reservation) as a write-off. Shortages are summed per sku first (one
     * sku may be short for several reasons, say one missing and one damaged): each sku's write-off
     * is one movement under one key.
     */
    async recordShortPick(input: {
      orderId: string;
      /** The shipment that was picked short (orders of the old shape: none). */
      shipment?: number;
      shortages: { sku: string; quantity: number; reason: string }[];
    }): Promise<void> {
      const bySku = new Map<string, { sku: string; quantity: number; reasons: string[] }>();
      for (const { sku, quantity, reason } of input.shortages) {
        const sum = bySku.get(sku) ?? { sku, quantity: 0, reasons: [] };
        sum.quantity += quantity;
        sum.reasons.push(`${quantity} ${reason}`);
        bySku.set(sku, sum);
      }
      await db.transaction(async (tx) => {
        for (const shortage of bySku.values()) {
          const [line] = await tx
            .select()
            .from(reservations)
            .where(
              and(
                eq(reservations.orderId, input.orderId),
                eq(reservations.sku, shortage.sku),
                eq(reservations.status, 'held'),
                input.shipment === undefined ? undefined : eq(reservations.shipment, input.shipment),
              ),
            )
            .for('update');
          if (!line) continue;
          const units = Math.min(shortage.quantity, line.quantity);
          const applied = await moveStock(tx, {
            key: movementKey(input.orderId, line.shipment, `write_off:${line.round}:${line.sku}`),
            warehouseId: line.warehouseId,
            sku: line.sku,
            kind: 'write_off',
            onHandDelta: -units,
            reservedDelta: -units,
            orderId: input.orderId,
            reason: `short pick: ${shortage.reasons.join(', ')}`,
          });
          if (applied) {
            await tx
              .update(reservations)
              .set({ quantity: line.quantity - units, updatedAt: new Date() })
              .where(
                and(
                  eq(reservations.orderId, input.orderId),
                  eq(reservations.shipment, line.shipment),
                  eq(reservations.round, line.round),
                  eq(reservations.sku, line.sku),
                ),
              );
          }
        }
      });
    },
  };
}
