import { randomUUID } from 'node:crypto';
import { inject } from 'vitest';
import { moveStock } from '../../db/stock.js';
import { createDatabase, type Database } from '../../db/client.js';
import { products, stock, warehouses } from '../../db/schema.js';
import { DEMO_WAREHOUSES, seedDemoData } from '../../db/seed.js';

/** A pool on the run's real Postgres, with the demo catalog loaded. */
export async function testDatabase(max = 20): Promise<Database> {
  const db = createDatabase(inject('databaseUrl'), { max });
  await seedDemoData(db);
  return db;
}

/**
 * A product of its own with a known amount of stock at given warehouses, so a test can count
 * units without other tests' orders in the way.
 */
export async function isolatedProduct(
  db: Database,
  unitsByWarehouse: Record<string, number>,
  price = 1000,
): Promise<string> {
  const sku = `TEST-${randomUUID().slice(0, 8).toUpperCase()}`;
  await db.insert(products).values({
    sku,
    name: `Test product ${sku}`,
    price,
    currency: 'USD',
    weightGrams: 200,
    lengthMm: 100,
    widthMm: 100,
    heightMm: 50,
  });
  await db.transaction(async (tx) => {
    for (const [warehouseId, units] of Object.entries(unitsByWarehouse)) {
      await tx.insert(stock).values({ warehouseId, sku });
      await moveStock(tx, {
        key: `test:${sku}:${warehouseId}`,
        warehouseId,
        sku,
        kind: 'restock',
        onHandDelta: units,
        reservedDelta: 0,
        reason: 'test',
      });
    }
  });
  return sku;
}

export async function stockOf(db: Database, sku: string) {
  const rows = await db.select().from(stock);
  return Object.fromEntries(
    rows
      .filter((row) => row.sku === sku)
      .map((row) => [row.warehouseId, { onHand: row.onHand, reserved: row.reserved }]),
  );
}

/**
 * A warehouse of its own where wh-east stands (Newark, near the test customers), holding `units` of a product of its own:
 * with wave picking, its own waves workflow, so a test's shipments are the only ones in its waves.
 */
export async function warehouseOfItsOwn(
  db: Database,
  units: number,
  prefix = 'wh-e2e',
): Promise<{ warehouseId: string; sku: string }> {
  const warehouseId = `${prefix}${randomUUID().slice(0, 6)}`;
  const eastCoast = DEMO_WAREHOUSES.find((warehouse) => warehouse.id === 'wh-east')!;
  await db.insert(warehouses).values({ ...eastCoast, id: warehouseId, name: `Test DC ${warehouseId}` });
  return { warehouseId, sku: await isolatedProduct(db, { [warehouseId]: units }, 1500) };
}
