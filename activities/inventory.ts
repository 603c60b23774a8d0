import { ApplicationFailure } from '@temporalio/activity';
import { and, eq, inArray, sql } from 'drizzle-orm';
import { FailureType } from '../domain/failures.js';
import { distanceKm, locateAddress } from '../domain/geo.js';
import { effectKey } from '../domain/ids.js';
import type { ShippingAddress } from '../domain/schemas.js';
import type { Database } from '../db/client.js';
import { reservations, stock, stockMovements, warehouses } from '../db/schema.js';
import { moveStock, type Transaction } from '../db/stock.js';
import type { ActivityDependencies } from './deps.js';
import { countBusinessEvent } from './metrics.js';
import type { WarehouseLine } from './ports.js';

class NotEnoughAtWarehouse extends Error {}
class AlreadyReserved extends Error {}

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
): Promise<void> {
  await db.transaction(async (tx: Transaction) => {
    const lines = await tx
      .select()
      .from(reservations)
      .where(and(eq(reservations.orderId, orderId), eq(reservations.status, from)))
      .for('update');
    for (const line of lines) {
      const movement = change(line);
      if (line.quantity > 0 && (movement.onHandDelta !== 0 || movement.reservedDelta !== 0)) {
        await moveStock(tx, {
          key: effectKey(orderId, `${movement.kind}:${line.round}:${line.sku}`),
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
          and(eq(reservations.orderId, orderId), eq(reservations.round, line.round), eq(reservations.sku, line.sku)),
        );
    }
  });
}

export function createInventoryActivities({ db }: ActivityDependencies) {
  async function reservedIn(orderId: string, round: number): Promise<string | null> {
    const [line] = await db
      .select()
      .from(reservations)
      .where(and(eq(reservations.orderId, orderId), eq(reservations.round, round)));
    return line?.warehouseId ?? null;
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
      round: number;
      lines: WarehouseLine[];
      shippingAddress: ShippingAddress;
    }): Promise<{ warehouseId: string }> {
      const already = await reservedIn(input.orderId, input.round);
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
                  idempotencyKey: effectKey(input.orderId, `reserve:${input.round}:${line.sku}`),
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
            const held = await reservedIn(input.orderId, input.round);
            if (held) return { warehouseId: held };
          }
          if (!(error instanceof NotEnoughAtWarehouse)) throw error;
          countBusinessEvent('oversell_refused');
          // Someone took the last units between our look and our update: try the next nearest.
        }
      }
      // A concurrent attempt of this activity may have reserved it while we looked.
      const heldMeanwhile = await reservedIn(input.orderId, input.round);
      if (heldMeanwhile) return { warehouseId: heldMeanwhile };
      countBusinessEvent('oversell_refused');
      throw ApplicationFailure.nonRetryable(
        `no warehouse holds every line of order ${input.orderId}`,
        FailureType.OutOfStock,
      );
    },

    /** Gives held units back to the shelf's available count. */
    async releaseStock(input: { orderId: string }): Promise<void> {
      await settleReservations(db, input.orderId, 'held', 'released', (line) => ({
        kind: 'release',
        onHandDelta: 0,
        reservedDelta: -line.quantity,
      }));
    },

    /** The warehouse picked the order: its units leave the shelf, and the reservation is used up. */
    async recordPick(input: { orderId: string }): Promise<void> {
      await settleReservations(db, input.orderId, 'held', 'picked', (line) => ({
        kind: 'pick',
        onHandDelta: -line.quantity,
        reservedDelta: -line.quantity,
      }));
    },

    /** The carrier has the parcel: its picked units are gone for good (a cancel no longer puts them back). */
    async recordShipped(input: { orderId: string }): Promise<void> {
      await settleReservations(db, input.orderId, 'picked', 'shipped', () => ({
        kind: 'ship',
        onHandDelta: 0,
        reservedDelta: 0,
      }));
    },

    /** Picked units came back to the shelf (the order was cancelled before it shipped). */
    async returnPickedToShelf(input: { orderId: string }): Promise<void> {
      await settleReservations(db, input.orderId, 'picked', 'returned', (line) => ({
        kind: 'return_to_shelf',
        onHandDelta: line.quantity,
        reservedDelta: 0,
      }));
    },

    /**
     * The picker found fewer units than the count said: those units do not exist, so they leave the
     * count (and the order's reservation) as a write-off. Shortages are summed per sku first (one
     * sku may be short for several reasons, say one missing and one damaged): each sku's write-off
     * is one movement under one key.
     */
    async recordShortPick(input: {
      orderId: string;
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
              ),
            )
            .for('update');
          if (!line) continue;
          const units = Math.min(shortage.quantity, line.quantity);
          const applied = await moveStock(tx, {
            key: effectKey(input.orderId, `write_off:${line.round}:${line.sku}`),
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
