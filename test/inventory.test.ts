import { ApplicationFailure } from '@temporalio/common';
import { eq, sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createInventoryActivities } from '../activities/inventory.js';
import type { ActivityDependencies } from '../activities/deps.js';
import type { Database } from '../db/client.js';
import { reservations, stockMovements } from '../db/schema.js';
import { newOrderId, orderRequest } from './support/orders.js';
import { activityRunner } from './support/activity-env.js';
import { isolatedProduct, stockOf, testDatabase } from './support/database.js';

let db: Database;
let inventory: ReturnType<typeof createInventoryActivities>;
const run = activityRunner();

const boston = orderRequest().shippingAddress;
const seattle = { ...boston, city: 'Seattle', region: 'WA', postalCode: '98101' };

beforeAll(async () => {
  db = await testDatabase(30);
  inventory = createInventoryActivities({ db } as ActivityDependencies);
});

afterAll(async () => {
  await db.close();
});

describe('reserveStock', () => {
  it('reserves at the warehouse nearest the shipping address that holds every line', async () => {
    const sku = await isolatedProduct(db, { 'wh-east': 5, 'wh-west': 5 });
    const east = await run(inventory.reserveStock, {
      orderId: newOrderId(),
      round: 1,
      lines: [{ sku, quantity: 1 }],
      shippingAddress: boston,
    });
    const west = await run(inventory.reserveStock, {
      orderId: newOrderId(),
      round: 1,
      lines: [{ sku, quantity: 1 }],
      shippingAddress: seattle,
    });
    expect(east.warehouseId).toBe('wh-east');
    expect(west.warehouseId).toBe('wh-west');
  });

  it('goes further away rather than split an order the nearest warehouse cannot ship whole', async () => {
    const near = await isolatedProduct(db, { 'wh-east': 5, 'wh-west': 5 });
    const scarce = await isolatedProduct(db, { 'wh-east': 0, 'wh-west': 2 });
    const lines = [
      { sku: near, quantity: 1 },
      { sku: scarce, quantity: 2 },
    ];
    const { warehouseId } = await run(inventory.reserveStock, {
      orderId: newOrderId(),
      round: 1,
      lines,
      shippingAddress: boston,
    });
    expect(warehouseId).toBe('wh-west');
  });

  it('reserves once however often it is retried', async () => {
    const sku = await isolatedProduct(db, { 'wh-east': 5 });
    const orderId = newOrderId();
    const input = { orderId, round: 1, lines: [{ sku, quantity: 3 }], shippingAddress: boston };
    await Promise.all([
      run(inventory.reserveStock, input),
      run(inventory.reserveStock, input),
      run(inventory.reserveStock, input),
    ]);
    await run(inventory.reserveStock, input);
    expect((await stockOf(db, sku))['wh-east']).toEqual({ onHand: 5, reserved: 3 });
    expect(await db.select().from(reservations).where(eq(reservations.orderId, orderId))).toHaveLength(1);
  });

  it('fails with OutOfStock, reserving nothing, when no warehouse holds every line', async () => {
    const sku = await isolatedProduct(db, { 'wh-east': 1, 'wh-west': 1 });
    const failure = await run(inventory.reserveStock, {
      orderId: newOrderId(),
      round: 1,
      lines: [{ sku, quantity: 2 }],
      shippingAddress: boston,
    }).catch((e) => e);
    expect(failure).toBeInstanceOf(ApplicationFailure);
    expect(failure.type).toBe('OutOfStock');
    expect(failure.nonRetryable).toBe(true);
    expect(await stockOf(db, sku)).toEqual({
      'wh-east': { onHand: 1, reserved: 0 },
      'wh-west': { onHand: 1, reserved: 0 },
    });
  });

  it('never oversells when many orders race for scarce stock', async () => {
    const sku = await isolatedProduct(db, { 'wh-east': 7, 'wh-west': 5 });
    const attempts = 40;
    const results = await Promise.allSettled(
      Array.from({ length: attempts }, (_, i) =>
        run(inventory.reserveStock, {
          orderId: newOrderId('race'),
          round: 1,
          lines: [{ sku, quantity: 1 }],
          shippingAddress: i % 2 ? boston : seattle,
        }),
      ),
    );
    const reserved = await db
      .select({ warehouseId: reservations.warehouseId, units: sql<number>`sum(${reservations.quantity})::int` })
      .from(reservations)
      .where(eq(reservations.sku, sku))
      .groupBy(reservations.warehouseId);
    const levels = await stockOf(db, sku);
    for (const { warehouseId, units } of reserved) expect(levels[warehouseId]!.reserved).toBe(units);
    expect(levels['wh-east']!.reserved).toBeLessThanOrEqual(7);
    expect(levels['wh-west']!.reserved).toBeLessThanOrEqual(5);
    // Exactly the 12 units there were are sold: none twice, none left on the shelf.
    const sold = reserved.reduce((sum, row) => sum + row.units, 0);
    expect(sold).toBe(12);
    const rejected = results.filter((r) => r.status === 'rejected');
    expect(rejected.every((r) => (r as PromiseRejectedResult).reason?.type === 'OutOfStock')).toBe(true);
    const ordersHolding = await db
      .selectDistinct({ orderId: reservations.orderId })
      .from(reservations)
      .where(eq(reservations.sku, sku));
    expect(ordersHolding).toHaveLength(attempts - rejected.length);
  });
});

describe('releaseStock and recordPick', () => {
  it('gives held units back once, and records each change as a movement', async () => {
    const sku = await isolatedProduct(db, { 'wh-east': 4 });
    const orderId = newOrderId();
    await run(inventory.reserveStock, { orderId, round: 1, lines: [{ sku, quantity: 3 }], shippingAddress: boston });
    await run(inventory.releaseStock, { orderId });
    await run(inventory.releaseStock, { orderId });
    expect((await stockOf(db, sku))['wh-east']).toEqual({ onHand: 4, reserved: 0 });
    const movements = await db
      .select()
      .from(stockMovements)
      .where(eq(stockMovements.orderId, orderId))
      .orderBy(stockMovements.id);
    expect(movements.map((m) => [m.kind, m.reservedDelta])).toEqual([
      ['reserve', 3],
      ['release', -3],
    ]);
  });

  it('takes picked units off the shelf once', async () => {
    const sku = await isolatedProduct(db, { 'wh-east': 4 });
    const orderId = newOrderId();
    await run(inventory.reserveStock, { orderId, round: 1, lines: [{ sku, quantity: 3 }], shippingAddress: boston });
    await Promise.all([run(inventory.recordPick, { orderId }), run(inventory.recordPick, { orderId })]);
    expect((await stockOf(db, sku))['wh-east']).toEqual({ onHand: 1, reserved: 0 });
    // A release after the pick has nothing left to give back.
    await run(inventory.releaseStock, { orderId });
    expect((await stockOf(db, sku))['wh-east']).toEqual({ onHand: 1, reserved: 0 });
  });

  it('puts picked units back on the shelf once when a picked order is cancelled', async () => {
    const sku = await isolatedProduct(db, { 'wh-east': 4 });
    const orderId = newOrderId();
    await run(inventory.reserveStock, { orderId, round: 1, lines: [{ sku, quantity: 3 }], shippingAddress: boston });
    await run(inventory.recordPick, { orderId });
    await Promise.all([
      run(inventory.returnPickedToShelf, { orderId }),
      run(inventory.returnPickedToShelf, { orderId }),
    ]);
    expect((await stockOf(db, sku))['wh-east']).toEqual({ onHand: 4, reserved: 0 });
  });

  it('writes off units a picker could not find, and a new round can reserve elsewhere', async () => {
    const sku = await isolatedProduct(db, { 'wh-east': 3, 'wh-west': 5 });
    const orderId = newOrderId();
    await run(inventory.reserveStock, { orderId, round: 1, lines: [{ sku, quantity: 3 }], shippingAddress: boston });
    const shortages = [{ sku, quantity: 2, reason: 'missing' }];
    await run(inventory.recordShortPick, { orderId, shortages });
    await run(inventory.recordShortPick, { orderId, shortages });
    await run(inventory.releaseStock, { orderId });
    // Two units never existed: gone from the count; the one real unit is free again.
    expect((await stockOf(db, sku))['wh-east']).toEqual({ onHand: 1, reserved: 0 });
    const { warehouseId } = await run(inventory.reserveStock, {
      orderId,
      round: 2,
      lines: [{ sku, quantity: 3 }],
      shippingAddress: boston,
    });
    expect(warehouseId).toBe('wh-west');
    expect((await stockOf(db, sku))['wh-west']).toEqual({ onHand: 5, reserved: 3 });
  });

  it('writes off a missing and a damaged unit of the same sku in one short pick', async () => {
    const sku = await isolatedProduct(db, { 'wh-east': 5 });
    const orderId = newOrderId();
    await run(inventory.reserveStock, { orderId, round: 1, lines: [{ sku, quantity: 3 }], shippingAddress: boston });
    const shortages = [
      { sku, quantity: 1, reason: 'missing' },
      { sku, quantity: 1, reason: 'damaged' },
    ];
    await run(inventory.recordShortPick, { orderId, shortages });
    await run(inventory.recordShortPick, { orderId, shortages });
    await run(inventory.releaseStock, { orderId });
    // Two units are gone from the count; the third is free again.
    expect((await stockOf(db, sku))['wh-east']).toEqual({ onHand: 3, reserved: 0 });
    const movements = await db
      .select()
      .from(stockMovements)
      .where(eq(stockMovements.orderId, orderId))
      .orderBy(stockMovements.id);
    expect(movements.map((m) => [m.kind, m.onHandDelta, m.reservedDelta])).toEqual([
      ['reserve', 0, 3],
      ['write_off', -2, -2],
      ['release', 0, -1],
    ]);
  });

  it('keeps every stock row equal to the sum of its movements', async () => {
    const drift = await db.execute(sql`
      select s.warehouse_id, s.sku from stock s
      left join (select warehouse_id, sku, sum(on_hand_delta) as on_hand, sum(reserved_delta) as reserved
                 from stock_movements group by warehouse_id, sku) m using (warehouse_id, sku)
      where s.on_hand <> coalesce(m.on_hand, 0) or s.reserved <> coalesce(m.reserved, 0)`);
    expect(drift).toHaveLength(0);
  });
});
