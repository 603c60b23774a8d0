import type { ReturnView } from '../domain/order.js';
import { returns } from '../db/schema.js';
import { moveStock } from '../db/stock.js';
import type { ActivityDependencies } from './deps.js';

/** Returns: the RMA record and the stock effect of what comes back. */
export function createReturnActivities({ db }: ActivityDependencies) {
  return {
    /** Writes the workflow's view of one return to the `returns` table (the reports read it). */
    async recordReturn(input: { orderId: string; ret: ReturnView }): Promise<void> {
      const { ret } = input;
      const columns = {
        status: ret.status,
        units: ret.units,
        labelCarrier: ret.returnLabel?.carrier ?? null,
        labelTrackingNumber: ret.returnLabel?.trackingNumber ?? null,
        refunded: ret.refunded,
        updatedAt: new Date(),
      };
      await db
        .insert(returns)
        .values({
          returnId: ret.returnId,
          orderId: input.orderId,
          reason: ret.reason,
          comment: ret.comment,
          items: ret.items,
          expiresAt: new Date(ret.expiresAt),
          createdAt: new Date(ret.createdAt),
          ...columns,
        })
        .onConflictDoUpdate({ target: returns.returnId, set: columns });
    },

    /**
     * Resalable units go back on the shelf of the warehouse that received them; damaged ones are
     * written off (recorded, no stock change: they left the count when they were picked). Units are
     * summed per sku and condition first: a receipt may list one sku on several lines, and each
     * (return, condition, sku) is one movement under one key.
     */
    async restockReturnedUnits(input: {
      orderId: string;
      returnId: string;
      warehouseId: string;
      units: { sku: string; quantity: number; condition: 'resalable' | 'damaged' }[];
    }): Promise<void> {
      const units = new Map<string, { sku: string; quantity: number; condition: 'resalable' | 'damaged' }>();
      for (const unit of input.units) {
        const key = `${unit.condition}:${unit.sku}`;
        const sum = units.get(key);
        if (sum) sum.quantity += unit.quantity;
        else units.set(key, { ...unit });
      }
      await db.transaction(async (tx) => {
        for (const unit of units.values()) {
          const resalable = unit.condition === 'resalable';
          await moveStock(tx, {
            key: `${input.returnId}:${unit.condition}:${unit.sku}`,
            warehouseId: input.warehouseId,
            sku: unit.sku,
            kind: resalable ? 'return_restock' : 'return_write_off',
            onHandDelta: resalable ? unit.quantity : 0,
            reservedDelta: 0,
            orderId: input.orderId,
            reason: `return ${input.returnId}: ${unit.quantity} ${unit.condition}`,
          });
        }
      });
    },
  };
}
