import { and, eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ActivityDependencies } from '../activities/deps.js';
import { createReturnActivities } from '../activities/returns.js';
import type { Database } from '../db/client.js';
import { stockMovements } from '../db/schema.js';
import { newOrderId } from './support/orders.js';
import { activityRunner } from './support/activity-env.js';
import { isolatedProduct, stockOf, testDatabase } from './support/database.js';

let db: Database;
let returns: ReturnType<typeof createReturnActivities>;
const run = activityRunner();

beforeAll(async () => {
  db = await testDatabase();
  returns = createReturnActivities({ db } as ActivityDependencies);
});

afterAll(async () => {
  await db.close();
});

async function movementsOf(orderId: string, sku: string) {
  const rows = await db
    .select()
    .from(stockMovements)
    .where(and(eq(stockMovements.orderId, orderId), eq(stockMovements.sku, sku)))
    .orderBy(stockMovements.id);
  return rows.map((row) => ({ kind: row.kind, onHandDelta: row.onHandDelta, reason: row.reason }));
}

describe('restockReturnedUnits', () => {
  it('puts every resalable unit back when the receipt lists one sku on several lines, once however often it is retried', async () => {
    const sku = await isolatedProduct(db, { 'wh-east': 0 });
    const orderId = newOrderId();
    const input = {
      orderId,
      returnId: `${orderId}-r1`,
      warehouseId: 'wh-east',
      units: [
        { sku, quantity: 1, condition: 'resalable' as const },
        { sku, quantity: 1, condition: 'resalable' as const },
      ],
    };
    await run(returns.restockReturnedUnits, input);
    await run(returns.restockReturnedUnits, input);
    expect((await stockOf(db, sku))['wh-east']).toEqual({ onHand: 2, reserved: 0 });
    expect(await movementsOf(orderId, sku)).toEqual([
      { kind: 'return_restock', onHandDelta: 2, reason: `return ${orderId}-r1: 2 resalable` },
    ]);
  });

  it('writes off every damaged unit of a sku listed on several lines, next to its resalable ones', async () => {
    const sku = await isolatedProduct(db, { 'wh-east': 0 });
    const orderId = newOrderId();
    const input = {
      orderId,
      returnId: `${orderId}-r1`,
      warehouseId: 'wh-east',
      units: [
        { sku, quantity: 1, condition: 'damaged' as const },
        { sku, quantity: 1, condition: 'resalable' as const },
        { sku, quantity: 2, condition: 'damaged' as const },
      ],
    };
    await run(returns.restockReturnedUnits, input);
    await run(returns.restockReturnedUnits, input);
    expect((await stockOf(db, sku))['wh-east']).toEqual({ onHand: 1, reserved: 0 });
    expect(await movementsOf(orderId, sku)).toEqual([
      { kind: 'return_write_off', onHandDelta: 0, reason: `return ${orderId}-r1: 3 damaged` },
      { kind: 'return_restock', onHandDelta: 1, reason: `return ${orderId}-r1: 1 resalable` },
    ]);
  });
});
