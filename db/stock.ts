import { and, eq, sql } from 'drizzle-orm';
import type { Database } from './client.js';
import { stock, stockMovements } from './schema.js';

export type Transaction = Parameters<Parameters<Database['transaction']>[0]>[0];

export interface StockMovement {
  /** Unique per effect: a movement already recorded under this key is not applied again. */
  key: string;
  warehouseId: string;
  sku: string;
  /** restock | adjustment | reserve | release | pick | write_off | return_to_shelf */
  kind: string;
  onHandDelta: number;
  reservedDelta: number;
  orderId?: string;
  reason?: string;
}

/**
 * Applies one stock change and records it as a movement, in the caller's transaction. Returns false,
 * changing nothing, when the movement's key was already recorded (a retried activity or request).
 * The stock table's CHECK constraints make a change that would oversell or go negative fail.
 */
export async function moveStock(tx: Transaction, movement: StockMovement): Promise<boolean> {
  const recorded = await tx
    .insert(stockMovements)
    .values({
      idempotencyKey: movement.key,
      warehouseId: movement.warehouseId,
      sku: movement.sku,
      kind: movement.kind,
      onHandDelta: movement.onHandDelta,
      reservedDelta: movement.reservedDelta,
      orderId: movement.orderId ?? null,
      reason: movement.reason ?? null,
    })
    .onConflictDoNothing()
    .returning({ id: stockMovements.id });
  if (recorded.length === 0) return false;
  const changed = await tx
    .update(stock)
    .set({
      onHand: sql`${stock.onHand} + ${movement.onHandDelta}`,
      reserved: sql`${stock.reserved} + ${movement.reservedDelta}`,
    })
    .where(and(eq(stock.warehouseId, movement.warehouseId), eq(stock.sku, movement.sku)))
    .returning({ sku: stock.sku });
  if (changed.length === 0) throw new Error(`no stock row for ${movement.sku} at ${movement.warehouseId}`);
  return true;
}
