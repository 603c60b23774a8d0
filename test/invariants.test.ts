import { randomUUID } from 'node:crypto';
import { eq, sql, TransactionRollbackError } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Database } from '../db/client.js';
import { checkInvariants, type Violation } from '../db/invariants.js';
import {
  orders,
  payments,
  products,
  reservations,
  returns,
  shipments,
  stock,
  stockMovements,
  waveShipments,
} from '../db/schema.js';
import type { Transaction } from '../db/stock.js';
import { initialOrderView } from '../domain/order.js';
import type { OrderStatus } from '../domain/statuses.js';
import { newOrderId, orderRequest, workflowInput } from './support/orders.js';
import { testDatabase } from './support/database.js';

/**
 * Each rule of db/invariants.ts over small hand-built ledgers, reservations and stock: the broken
 * case is reported, the correct ones are not. Everything runs in a transaction that is rolled back,
 * so no broken row outlives its test (the stock rules look at the whole table).
 */
let db: Database;

beforeAll(async () => {
  db = await testDatabase(5);
});

afterAll(async () => {
  await db?.close();
});

/** Runs `body` in a transaction and always rolls it back. */
async function rolledBack(body: (tx: Transaction) => Promise<void>): Promise<void> {
  try {
    await db.transaction(async (tx) => {
      await body(tx);
      tx.rollback();
    });
  } catch (error) {
    if (!(error instanceof TransactionRollbackError)) throw error;
  }
}

async function order(tx: Transaction, status: OrderStatus, total: number | null = 5000): Promise<string> {
  const request = orderRequest({ orderId: newOrderId('inv') });
  const input = workflowInput(request, new Date().toISOString());
  const { timeline: _timeline, ...view } = initialOrderView(input);
  await tx.insert(orders).values({
    orderId: request.orderId,
    status,
    customerId: request.customer.id,
    channel: request.channel,
    requestHash: input.requestHash,
    input,
    view: { ...view, status },
    total,
    currency: 'USD',
    cancellableUntil: new Date(input.cancellableUntil),
  });
  return request.orderId;
}

/** Ledger rows: `['authorize', 5000], ['capture', 5000]`. */
async function ledger(
  tx: Transaction,
  orderId: string,
  ...entries: ['authorize' | 'capture' | 'void' | 'refund', number][]
): Promise<void> {
  for (const [kind, amount] of entries) {
    await tx.insert(payments).values({
      idempotencyKey: `${orderId}:${kind}:${randomUUID()}`,
      orderId,
      kind,
      amount,
      currency: 'USD',
      gatewayReference: `ref-${randomUUID()}`,
    });
  }
}

async function reservation(
  tx: Transaction,
  orderId: string,
  status: 'held' | 'picked' | 'released' | 'returned',
  round = 1,
): Promise<void> {
  await tx
    .insert(reservations)
    .values({ orderId, round, sku: 'MUG-CERAMIC', warehouseId: 'wh-east', quantity: 1, status });
}

/** The violations about these subjects only, as `rule subject` pairs (sorted). */
function about(violations: Violation[], subjects: string[]): string[] {
  return violations
    .filter((v) => subjects.includes(v.subject))
    .map((v) => `${v.rule} ${v.subject}`)
    .sort();
}

describe('money', () => {
  it('reports a final order whose captures minus refunds differ from what it owes, and nothing for correct ones', async () => {
    await rolledBack(async (tx) => {
      const completed = await order(tx, 'completed');
      await ledger(tx, completed, ['authorize', 5000], ['capture', 5000]);
      const cancelledRefunded = await order(tx, 'cancelled');
      await ledger(tx, cancelledRefunded, ['authorize', 5000], ['capture', 5000], ['refund', 5000]);
      const cancelledFree = await order(tx, 'cancelled');
      await ledger(tx, cancelledFree, ['authorize', 5000], ['void', 5000]);
      const declined = await order(tx, 'payment_failed');
      const rejected = await order(tx, 'rejected', null);
      const running = await order(tx, 'processing');
      await ledger(tx, running, ['authorize', 5000], ['capture', 4000]);

      const partlyRefunded = await order(tx, 'completed');
      await ledger(tx, partlyRefunded, ['authorize', 5000], ['capture', 5000], ['refund', 1000]);
      const neverCaptured = await order(tx, 'completed');
      await ledger(tx, neverCaptured, ['authorize', 5000], ['void', 5000]);
      const undercharged = await order(tx, 'completed');
      await ledger(tx, undercharged, ['authorize', 5000], ['capture', 4999]);
      const cancelledKeptMoney = await order(tx, 'cancelled');
      await ledger(tx, cancelledKeptMoney, ['authorize', 5000], ['capture', 5000]);
      const rejectedCharged = await order(tx, 'rejected');
      await ledger(tx, rejectedCharged, ['authorize', 5000], ['capture', 5000], ['refund', 4000]);
      const noTotal = await order(tx, 'completed', null);
      await ledger(tx, noTotal, ['authorize', 5000], ['capture', 5000]);

      const correct = [completed, cancelledRefunded, cancelledFree, declined, rejected, running];
      const broken = [partlyRefunded, neverCaptured, undercharged, cancelledKeptMoney, rejectedCharged, noTotal];
      const ids = [...correct, ...broken];
      const violations = await checkInvariants(tx, { orderIds: ids });
      expect(about(violations, ids)).toEqual(broken.map((id) => `money ${id}`).sort());
      expect(violations.find((v) => v.subject === undercharged)?.detail).toBe(
        'completed order owes 5000 but captured 4999 − refunded 0 = 4999',
      );
      expect(violations.find((v) => v.subject === noTotal)?.detail).toMatch(/unknown \(no total\)/);
    });
  });

  it('counts what returns refunded as no longer owed, for completed and returned orders', async () => {
    await rolledBack(async (tx) => {
      const partlyReturned = await order(tx, 'completed');
      await ledger(tx, partlyReturned, ['authorize', 5000], ['capture', 5000], ['refund', 1200]);
      await returned(tx, partlyReturned, 1200);
      const allReturned = await order(tx, 'returned');
      await ledger(tx, allReturned, ['authorize', 5000], ['capture', 5000], ['refund', 3000], ['refund', 2000]);
      await returned(tx, allReturned, 3000);
      await returned(tx, allReturned, 2000);
      const refundedWithoutReturn = await order(tx, 'returned');
      await ledger(tx, refundedWithoutReturn, ['authorize', 5000], ['capture', 5000], ['refund', 5000]);
      await returned(tx, refundedWithoutReturn, 4000);

      const ids = [partlyReturned, allReturned, refundedWithoutReturn];
      expect(about(await checkInvariants(tx, { orderIds: ids }), ids)).toEqual([`money ${refundedWithoutReturn}`]);
    });
  });
});

async function returned(tx: Transaction, orderId: string, refunded: number): Promise<void> {
  const n = (await tx.select().from(returns).where(eq(returns.orderId, orderId))).length + 1;
  await tx.insert(returns).values({
    returnId: `${orderId}-r${n}`,
    orderId,
    status: 'refunded',
    reason: 'damaged',
    items: [],
    units: [],
    expiresAt: new Date(),
    refunded,
    createdAt: new Date(),
  });
}

describe('open_authorization', () => {
  it('reports a final order whose authorization was neither captured nor voided', async () => {
    await rolledBack(async (tx) => {
      const voided = await order(tx, 'cancelled');
      await ledger(tx, voided, ['authorize', 5000], ['void', 5000]);
      const captured = await order(tx, 'completed');
      await ledger(tx, captured, ['authorize', 5000], ['capture', 5000]);
      const declined = await order(tx, 'payment_failed');
      const waiting = await order(tx, 'confirmed');
      await ledger(tx, waiting, ['authorize', 5000]);
      const forgotten = await order(tx, 'cancelled');
      await ledger(tx, forgotten, ['authorize', 5000]);

      const ids = [voided, captured, declined, waiting, forgotten];
      const violations = await checkInvariants(tx, { orderIds: ids });
      expect(about(violations, ids)).toEqual([`open_authorization ${forgotten}`]);
      expect(violations.find((v) => v.rule === 'open_authorization')?.detail).toBe(
        'cancelled order has an authorization of 5000 with neither a capture nor a void',
      );
    });
  });
});

describe('held_reservation', () => {
  it('reports a final order that still holds stock', async () => {
    await rolledBack(async (tx) => {
      const released = await order(tx, 'cancelled');
      await reservation(tx, released, 'released');
      const picked = await order(tx, 'completed', 0);
      await reservation(tx, picked, 'picked');
      const holding = await order(tx, 'confirmed');
      await reservation(tx, holding, 'held');
      const leaked = await order(tx, 'rejected', 0);
      await reservation(tx, leaked, 'released', 1);
      await reservation(tx, leaked, 'held', 2);

      const ids = [released, picked, holding, leaked];
      const violations = await checkInvariants(tx, { orderIds: ids });
      expect(about(violations, ids)).toEqual([`held_reservation ${leaked}`]);
      expect(violations.find((v) => v.rule === 'held_reservation')?.detail).toBe(
        'rejected order still holds 1 × MUG-CERAMIC at wh-east (round 2)',
      );
    });
  });
});

/** A shipment row of the order (`<orderId>-<n>`) in the given status. */
async function shipment(tx: Transaction, orderId: string, status: string, n = 1): Promise<void> {
  await tx.insert(shipments).values({
    id: `${orderId}-${n}`,
    orderId,
    carrier: 'simpost',
    service: 'ground',
    // A pending (or abandoned) label has no tracking number and no cost yet (shipments_label_bought).
    ...(['label_pending', 'label_abandoned'].includes(status)
      ? { trackingNumber: null, labelCost: null }
      : { trackingNumber: `TRK-${randomUUID()}`, labelCost: 700 }),
    status,
    box: 'S',
    weightGrams: 500,
    currency: 'USD',
    promisedBy: new Date(),
  });
}

/**
 * An operator can terminate an order's workflow (Temporal Web, `temporal workflow terminate`): no
 * workflow code runs, so whatever the order holds stays held and its read model stays where it was.
 * The caller (check:ledger, the reconciler) says which orders' workflows are closed or gone.
 */
describe('orders of closed workflows', () => {
  it('closed_workflow: reports a non-final order whose workflow is closed, not a running or a final one', async () => {
    await rolledBack(async (tx) => {
      const terminated = await order(tx, 'confirmed');
      const running = await order(tx, 'confirmed');
      const finished = await order(tx, 'completed', 0);
      const ids = [terminated, running, finished];
      const violations = await checkInvariants(tx, { orderIds: ids, closedOrderIds: [terminated, finished] });
      expect(about(violations, ids)).toEqual([`closed_workflow ${terminated}`]);
      expect(violations.find((v) => v.rule === 'closed_workflow')?.detail).toBe(
        'the workflow is closed or gone but the read model says confirmed',
      );
    });
  });

  it('open_authorization: reports the held authorization of a closed workflow, not of a running one', async () => {
    await rolledBack(async (tx) => {
      const terminated = await order(tx, 'confirmed');
      await ledger(tx, terminated, ['authorize', 5000]);
      const running = await order(tx, 'confirmed');
      await ledger(tx, running, ['authorize', 5000]);
      const voided = await order(tx, 'confirmed');
      await ledger(tx, voided, ['authorize', 5000], ['void', 5000]);

      const ids = [terminated, running, voided];
      const violations = await checkInvariants(tx, { orderIds: ids, closedOrderIds: [terminated, voided] });
      expect(about(violations, ids).filter((v) => !v.startsWith('closed_workflow'))).toEqual([
        `open_authorization ${terminated}`,
      ]);
      expect(violations.find((v) => v.rule === 'open_authorization')?.detail).toBe(
        'confirmed order of a closed workflow has an authorization of 5000 with neither a capture nor a void',
      );
    });
  });

  it("held_reservation and picked_reservation: report the stock a closed workflow holds or picked, not a running one's", async () => {
    await rolledBack(async (tx) => {
      const heldByTerminated = await order(tx, 'confirmed');
      await reservation(tx, heldByTerminated, 'held');
      const pickedByTerminated = await order(tx, 'processing');
      await reservation(tx, pickedByTerminated, 'picked');
      const heldByRunning = await order(tx, 'confirmed');
      await reservation(tx, heldByRunning, 'held');
      const pickedByRunning = await order(tx, 'processing');
      await reservation(tx, pickedByRunning, 'picked');
      const pickedByCancelled = await order(tx, 'cancelled', 0);
      await reservation(tx, pickedByCancelled, 'picked');
      const reshelved = await order(tx, 'processing');
      await reservation(tx, reshelved, 'returned');

      const ids = [heldByTerminated, pickedByTerminated, heldByRunning, pickedByRunning, pickedByCancelled, reshelved];
      const violations = await checkInvariants(tx, {
        orderIds: ids,
        closedOrderIds: [heldByTerminated, pickedByTerminated, reshelved],
      });
      expect(about(violations, ids).filter((v) => !v.startsWith('closed_workflow'))).toEqual(
        [
          `held_reservation ${heldByTerminated}`,
          `picked_reservation ${pickedByTerminated}`,
          `picked_reservation ${pickedByCancelled}`,
        ].sort(),
      );
      expect(violations.find((v) => v.rule === 'held_reservation')?.detail).toBe(
        'confirmed order of a closed workflow still holds 1 × MUG-CERAMIC at wh-east (round 1)',
      );
      expect(violations.find((v) => v.subject === pickedByCancelled)?.detail).toBe(
        'cancelled order has picked units off the shelf that never shipped: 1 × MUG-CERAMIC at wh-east (round 1)',
      );
    });
  });

  it("unused_label: reports a label still at the dock of a closed workflow or a final order, not a running one's nor one in use", async () => {
    await rolledBack(async (tx) => {
      const terminated = await order(tx, 'processing');
      await shipment(tx, terminated, 'label_created');
      const pendingLabel = await order(tx, 'processing');
      await shipment(tx, pendingLabel, 'label_pending');
      const running = await order(tx, 'processing');
      await shipment(tx, running, 'label_created');
      const cancelled = await order(tx, 'cancelled', 0);
      await shipment(tx, cancelled, 'label_created');
      const voided = await order(tx, 'cancelled', 0);
      await shipment(tx, voided, 'voided');
      // Cancelled while its label was being bought, and the carrier had sold none: nothing to void.
      const abandoned = await order(tx, 'cancelled', 0);
      await shipment(tx, abandoned, 'label_abandoned');
      const delivered = await order(tx, 'completed');
      await ledger(tx, delivered, ['authorize', 5000], ['capture', 5000]);
      await shipment(tx, delivered, 'delivered');
      const lostThenReshipped = await order(tx, 'completed');
      await ledger(tx, lostThenReshipped, ['authorize', 5000], ['capture', 5000]);
      await shipment(tx, lostThenReshipped, 'lost', 1);
      await shipment(tx, lostThenReshipped, 'delivered', 2);
      const inTransit = await order(tx, 'in_transit');
      await shipment(tx, inTransit, 'in_transit');

      const ids = [
        terminated,
        pendingLabel,
        running,
        cancelled,
        voided,
        abandoned,
        delivered,
        lostThenReshipped,
        inTransit,
      ];
      const violations = await checkInvariants(tx, {
        orderIds: ids,
        closedOrderIds: [terminated, pendingLabel, voided, inTransit],
      });
      expect(about(violations, ids).filter((v) => !v.startsWith('closed_workflow'))).toEqual(
        [`unused_label ${terminated}`, `unused_label ${pendingLabel}`, `unused_label ${cancelled}`].sort(),
      );
      expect(violations.find((v) => v.subject === terminated && v.rule === 'unused_label')?.detail).toBe(
        `processing order of a closed workflow has an unused label: ${terminated}-1 (label_created)`,
      );
    });
  });
  it('unused_label: knows labels a wave bought: one no shipment recorded and nobody voided is unused; voided or recorded ones are judged as such', async () => {
    /** A label wave `w` bought for shipment 1 of `orderId`; `recorded`: the shipment made it its label row with that status. */
    async function waveLabel(tx: Transaction, orderId: string, labelStatus: 'sold' | 'voided', recorded?: string) {
      const trackingNumber = `TRK-${randomUUID()}`;
      const waveId = `wh-east-w${randomUUID().slice(0, 6)}`;
      await tx.insert(waveShipments).values({
        waveId,
        shipmentId: `${orderId}-1`,
        orderId,
        workflowId: `shipment-${orderId}-1`,
        priority: 'normal',
        carrier: 'simpost',
        service: 'ground',
        items: [{ sku: 'MUG-CERAMIC', quantity: 1 }],
        shipTo: orderRequest().shippingAddress,
        readyAt: new Date(),
        pickStatus: 'picked',
        printPosition: 1,
        trackingNumber,
        labelCost: 700,
        box: 'S',
        weightGrams: 500,
        labelStatus,
      });
      if (recorded)
        await tx.insert(shipments).values({
          id: `${orderId}-1`,
          orderId,
          carrier: 'simpost',
          service: 'ground',
          trackingNumber,
          labelCost: 700,
          status: recorded,
          box: 'S',
          weightGrams: 500,
          currency: 'USD',
          promisedBy: new Date(),
        });
      return waveId;
    }
    await rolledBack(async (tx) => {
      const neverRecorded = await order(tx, 'cancelled', 0);
      const waveId = await waveLabel(tx, neverRecorded, 'sold');
      const voidedInWave = await order(tx, 'cancelled', 0);
      await waveLabel(tx, voidedInWave, 'voided', 'voided');
      const recordedAtDock = await order(tx, 'cancelled', 0);
      await waveLabel(tx, recordedAtDock, 'sold', 'label_created');
      const delivered = await order(tx, 'completed');
      await ledger(tx, delivered, ['authorize', 5000], ['capture', 5000]);
      await waveLabel(tx, delivered, 'sold', 'delivered');
      const running = await order(tx, 'processing');
      await waveLabel(tx, running, 'sold');

      const ids = [neverRecorded, voidedInWave, recordedAtDock, delivered, running];
      const violations = await checkInvariants(tx, { orderIds: ids });
      expect(about(violations, ids)).toEqual(
        [`unused_label ${neverRecorded}`, `unused_label ${recordedAtDock}`].sort(),
      );
      expect(violations.find((v) => v.subject === neverRecorded)?.detail).toMatch(
        new RegExp(`^cancelled order has an unused label: ${neverRecorded}-1 \\(wave ${waveId} label TRK-`),
      );
      expect(violations.find((v) => v.subject === recordedAtDock)?.detail).toBe(
        `cancelled order has an unused label: ${recordedAtDock}-1 (label_created)`,
      );
    });
  });
});

describe('double_effect', () => {
  it('reports an order captured twice or refunded more than captured, in any status', async () => {
    await rolledBack(async (tx) => {
      const once = await order(tx, 'processing');
      await ledger(tx, once, ['authorize', 5000], ['capture', 5000]);
      const refunded = await order(tx, 'cancelled');
      await ledger(tx, refunded, ['authorize', 5000], ['capture', 5000], ['refund', 3000], ['refund', 2000]);
      // Two captures that add up to the total: the money rule is satisfied, the double effect is not.
      const capturedTwice = await order(tx, 'completed');
      await ledger(tx, capturedTwice, ['authorize', 5000], ['capture', 2500], ['capture', 2500]);
      const overRefunded = await order(tx, 'processing');
      await ledger(tx, overRefunded, ['authorize', 5000], ['capture', 1000], ['refund', 1500]);

      const ids = [once, refunded, capturedTwice, overRefunded];
      const violations = await checkInvariants(tx, { orderIds: ids });
      expect(about(violations, ids)).toEqual(
        [`double_effect ${capturedTwice}`, `double_effect ${overRefunded}`].sort(),
      );
      expect(violations.find((v) => v.subject === overRefunded)?.detail).toBe(
        'refunded 1500, more than the 1000 captured',
      );
    });
  });
});

describe('the order filter', () => {
  it('looks only at the given orders, and at none for an empty list', async () => {
    await rolledBack(async (tx) => {
      const broken = await order(tx, 'cancelled');
      await ledger(tx, broken, ['authorize', 5000], ['capture', 5000]);
      const other = await order(tx, 'completed');
      expect(about(await checkInvariants(tx, { orderIds: [other] }), [broken, other])).toEqual([`money ${other}`]);
      expect(about(await checkInvariants(tx, { orderIds: [] }), [broken, other])).toEqual([]);
      expect(about(await checkInvariants(tx), [broken, other])).toEqual([`money ${broken}`, `money ${other}`].sort());
    });
  });
});

describe('stock rules', () => {
  /** A product of its own with a stock row per warehouse given, built from movements like the real thing. */
  async function product(tx: Transaction, levels: Record<string, [onHand: number, reserved: number]>): Promise<string> {
    const sku = `INV-${randomUUID().slice(0, 8).toUpperCase()}`;
    await tx
      .insert(products)
      .values({ sku, name: sku, price: 100, currency: 'USD', weightGrams: 1, lengthMm: 1, widthMm: 1, heightMm: 1 });
    for (const [warehouseId, [onHand, reserved]] of Object.entries(levels)) {
      await tx.insert(stock).values({ warehouseId, sku, onHand, reserved });
      if (onHand !== 0 || reserved !== 0) {
        await tx.insert(stockMovements).values({
          idempotencyKey: `inv:${sku}:${warehouseId}`,
          warehouseId,
          sku,
          kind: 'restock',
          onHandDelta: onHand,
          reservedDelta: reserved,
        });
      }
    }
    return sku;
  }

  const subjects = (violations: Violation[], rule: string, sku: string) =>
    violations
      .filter((v) => v.rule === rule && v.subject.endsWith(`/${sku}`))
      .map((v) => v.subject)
      .sort();

  it('stock_matches_movements: reports stock that is not the sum of its movements', async () => {
    await rolledBack(async (tx) => {
      const fine = await product(tx, { 'wh-east': [5, 2], 'wh-west': [0, 0] });
      const drifted = await product(tx, { 'wh-east': [5, 2], 'wh-west': [4, 0], 'wh-central': [3, 1] });
      // Changed behind the ledger's back: on hand at the east, reserved at the west, and central without any movement.
      await tx.execute(sql`update stock set on_hand = on_hand + 1 where sku = ${drifted} and warehouse_id = 'wh-east'`);
      await tx.execute(sql`update stock set reserved = 1 where sku = ${drifted} and warehouse_id = 'wh-west'`);
      await tx.execute(sql`delete from stock_movements where sku = ${drifted} and warehouse_id = 'wh-central'`);
      // Movements for a pair without a stock row.
      const orphan = await product(tx, {});
      await tx.insert(stockMovements).values({
        idempotencyKey: `inv:${orphan}`,
        warehouseId: 'wh-east',
        sku: orphan,
        kind: 'restock',
        onHandDelta: 2,
        reservedDelta: 0,
      });

      const violations = await checkInvariants(tx, { orderIds: [] });
      expect(subjects(violations, 'stock_matches_movements', fine)).toEqual([]);
      expect(subjects(violations, 'stock_matches_movements', drifted)).toEqual([
        `wh-central/${drifted}`,
        `wh-east/${drifted}`,
        `wh-west/${drifted}`,
      ]);
      expect(subjects(violations, 'stock_matches_movements', orphan)).toEqual([`wh-east/${orphan}`]);
      expect(violations.find((v) => v.subject === `wh-east/${drifted}`)?.detail).toBe(
        'stock says on_hand 6, reserved 2; its movements sum to on_hand 5, reserved 2',
      );
      expect(
        violations.filter(
          (v) => v.rule === 'stock_bounds' && [fine, drifted, orphan].some((sku) => v.subject.endsWith(sku)),
        ),
      ).toEqual([]);
    });
  });

  it('stock_bounds: reports negative reservations and more reserved than on hand', async () => {
    await rolledBack(async (tx) => {
      // The CHECK constraints forbid these rows; drop them inside this rolled-back transaction to build them.
      await tx.execute(
        sql`alter table stock drop constraint stock_reserved_not_negative, drop constraint stock_reserved_within_on_hand`,
      );
      const fine = await product(tx, { 'wh-east': [5, 5], 'wh-west': [0, 0] });
      const broken = await product(tx, { 'wh-east': [2, 5], 'wh-west': [3, -1], 'wh-central': [-2, 0] });

      const violations = await checkInvariants(tx, { orderIds: [] });
      expect(subjects(violations, 'stock_bounds', fine)).toEqual([]);
      expect(subjects(violations, 'stock_bounds', broken)).toEqual([
        `wh-central/${broken}`,
        `wh-east/${broken}`,
        `wh-west/${broken}`,
      ]);
      // Their movements agree with them: only the bounds are broken.
      expect(subjects(violations, 'stock_matches_movements', broken)).toEqual([]);
      expect(violations.find((v) => v.subject === `wh-west/${broken}`)?.detail).toBe(
        'on_hand 3, reserved -1: negative reservation',
      );
    });
  });
});

describe('a committed, correct history', () => {
  it('has no violations through the pool either', async () => {
    const orderId = await db.transaction(async (tx) => {
      const id = await order(tx, 'completed', 1234);
      await ledger(tx, id, ['authorize', 1234], ['capture', 1234]);
      await reservation(tx, id, 'picked');
      return id;
    });
    const violations = await checkInvariants(db, { orderIds: [orderId] });
    expect(violations.filter((v) => v.subject === orderId)).toEqual([]);
  });
});

describe('shipment_money', () => {
  /** A completed order of two shipments: 2 mugs (14.00) from shipment 1 with shipping 6.99, a book (36.00) from shipment 2. */
  async function splitOrder(tx: Transaction, bookShipped: boolean): Promise<string> {
    const id = await order(tx, 'completed', 7099);
    const [row] = await tx.select().from(orders).where(eq(orders.orderId, id));
    const view = {
      ...row!.view,
      items: [
        { sku: 'MUG-CERAMIC', name: 'mug', quantity: 2, unitPrice: 1400 },
        { sku: 'BOOK-TEMPORAL', name: 'book', quantity: 1, unitPrice: 3600 },
      ],
      totals: { subtotal: 6400, shipping: 699, total: 7099, currency: 'USD' },
    };
    await tx.update(orders).set({ view }).where(eq(orders.orderId, id));
    const line = (shipment: number, sku: string, quantity: number, warehouseId: string, status: string) => ({
      orderId: id,
      shipment,
      round: 1,
      sku,
      warehouseId,
      quantity,
      status,
    });
    await tx
      .insert(reservations)
      .values([
        line(1, 'MUG-CERAMIC', 2, 'wh-east', 'shipped'),
        line(2, 'BOOK-TEMPORAL', 1, 'wh-west', bookShipped ? 'shipped' : 'released'),
      ]);
    const entry = (kind: string, step: string, amount: number) => ({
      idempotencyKey: `${id}:${step}`,
      orderId: id,
      kind,
      amount,
      currency: 'USD',
      gatewayReference: `ref-${randomUUID()}`,
    });
    await tx
      .insert(payments)
      .values([
        entry('authorize', 'authorize', 7099),
        entry('capture', 'capture:1', 2800 + 699),
        entry('capture', 'capture:2', 3600),
      ]);
    return id;
  }

  it('accepts shipments that kept what they shipped, and a split order captured once per shipment', async () => {
    await rolledBack(async (tx) => {
      const id = await splitOrder(tx, true);
      expect(await checkInvariants(tx, { orderIds: [id] })).toEqual([]);
    });
  });

  it('reports a shipment that kept the money of units that never shipped, until its refund', async () => {
    await rolledBack(async (tx) => {
      const id = await splitOrder(tx, false);
      expect(about(await checkInvariants(tx, { orderIds: [id] }), [id])).toEqual([
        `money ${id}`,
        `shipment_money ${id}`,
      ]);
      await tx.insert(payments).values({
        idempotencyKey: `${id}:refund:cancel@2`,
        orderId: id,
        kind: 'refund',
        amount: 3600,
        currency: 'USD',
        gatewayReference: 'ref-refund',
      });
      expect(await checkInvariants(tx, { orderIds: [id] })).toEqual([]);
    });
  });
});
