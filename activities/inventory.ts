import { ApplicationFailure } from '@temporalio/activity';
import { and, eq, inArray, sql } from 'drizzle-orm';
import { FailureType } from '../domain/errors.js';
import { distanceKm, locateAddress } from '../domain/geo.js';
import { effectKey } from '../domain/ids.js';
import type { ShippingAddress } from '../domain/schemas.js';
import type { Database } from '../db/client.js';
import { moveStock } from '../db/stock.js';
import { reservations, stock, stockMovements, warehouses } from '../db/schema.js';
import type { ActivityDependencies } from './deps.js';
import type { WarehouseLine } from './ports.js';

class NotEnoughAtWarehouse extends Error {}
class AlreadyReserved extends Error {}

/** Warehouses that hold every line right now, nearest to the address first. */
async function candidateWarehouses(db: Database, lines: WarehouseLine[], address: ShippingAddress): Promise<string[]> {
  const rows = await db
    .select({ warehouseId: stock.warehouseId, sku: stock.sku, available: sql<number>`${stock.onHand} - ${stock.reserved}` })
    .from(stock)
    .where(inArray(stock.sku, lines.map((line) => line.sku)));
  const all = await db.select().from(warehouses);
  const destination = locateAddress(address);
  return all
    .filter((warehouse) =>
      lines.every((line) => rows.some((row) => row.warehouseId === warehouse.id && row.sku === line.sku && row.available >= line.quantity)),
    )
    .map((warehouse) => ({ id: warehouse.id, distance: destination ? distanceKm(destination, warehouse) : 0 }))
    .sort((a, b) => a.distance - b.distance || a.id.localeCompare(b.id))
    .map((warehouse) => warehouse.id);
}

export function createInventoryActivities({ db }: ActivityDependencies) {
  async function heldWarehouse(orderId: string): Promise<string | null> {
    const held = await db.select().from(reservations).where(eq(reservations.orderId, orderId));
    return held[0]?.warehouseId ?? null;
  }

  return {
    /**
     * Reserves every line at the nearest warehouse that holds them all. Each line is a conditional
     * update (`on_hand - reserved >= quantity`), so concurrent orders can never oversell; lines are
     * taken in sku order so two orders never deadlock on each other's rows.
     */
    async reserveStock(input: { orderId: string; lines: WarehouseLine[]; shippingAddress: ShippingAddress }): Promise<{ warehouseId: string }> {
      const already = await heldWarehouse(input.orderId);
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
                  idempotencyKey: effectKey(input.orderId, `reserve:${line.sku}`),
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
                  and(eq(stock.warehouseId, warehouseId), eq(stock.sku, line.sku), sql`${stock.onHand} - ${stock.reserved} >= ${line.quantity}`),
                )
                .returning({ sku: stock.sku });
              if (taken.length === 0) throw new NotEnoughAtWarehouse();
              await tx.insert(reservations).values({ orderId: input.orderId, sku: line.sku, warehouseId, quantity: line.quantity, status: 'held' });
            }
          });
          return { warehouseId };
        } catch (error) {
          if (error instanceof AlreadyReserved) {
            const held = await heldWarehouse(input.orderId);
            if (held) return { warehouseId: held };
          }
          if (!(error instanceof NotEnoughAtWarehouse)) throw error;
          // Someone took the last units between our look and our update: try the next nearest.
        }
      }
      // A concurrent attempt of this activity may have reserved it while we looked.
      const heldMeanwhile = await heldWarehouse(input.orderId);
      if (heldMeanwhile) return { warehouseId: heldMeanwhile };
      throw ApplicationFailure.nonRetryable(`no warehouse holds every line of order ${input.orderId}`, FailureType.OutOfStock);
    },

    /** Gives held units back to the shelf's available count. */
    async releaseStock(input: { orderId: string }): Promise<void> {
      await db.transaction(async (tx) => {
        const held = await tx
          .select()
          .from(reservations)
          .where(and(eq(reservations.orderId, input.orderId), eq(reservations.status, 'held')))
          .for('update');
        for (const line of held) {
          await moveStock(tx, {
            key: effectKey(input.orderId, `release:${line.sku}`),
            warehouseId: line.warehouseId,
            sku: line.sku,
            kind: 'release',
            onHandDelta: 0,
            reservedDelta: -line.quantity,
            orderId: input.orderId,
          });
          await tx
            .update(reservations)
            .set({ status: 'released', updatedAt: new Date() })
            .where(and(eq(reservations.orderId, input.orderId), eq(reservations.sku, line.sku)));
        }
      });
    },

    /** The warehouse picked the order: its units leave the shelf, and the reservation is used up. */
    async recordPick(input: { orderId: string }): Promise<void> {
      await db.transaction(async (tx) => {
        const held = await tx
          .select()
          .from(reservations)
          .where(and(eq(reservations.orderId, input.orderId), eq(reservations.status, 'held')))
          .for('update');
        for (const line of held) {
          await moveStock(tx, {
            key: effectKey(input.orderId, `pick:${line.sku}`),
            warehouseId: line.warehouseId,
            sku: line.sku,
            kind: 'pick',
            onHandDelta: -line.quantity,
            reservedDelta: -line.quantity,
            orderId: input.orderId,
          });
          await tx
            .update(reservations)
            .set({ status: 'picked', updatedAt: new Date() })
            .where(and(eq(reservations.orderId, input.orderId), eq(reservations.sku, line.sku)));
        }
      });
    },
  };
}
