import { randomUUID } from 'node:crypto';
import type { Client } from '@temporalio/client';
import { WorkflowNotFoundError } from '@temporalio/common';
import { eq } from 'drizzle-orm';
import request from 'supertest';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createApp } from '../api/app.js';
import type { Database } from '../db/client.js';
import { orders, stock, stockMovements } from '../db/schema.js';
import { moveStock } from '../db/stock.js';
import { orderWorkflowId } from '../domain/ids.js';
import { initialOrderView } from '../domain/order.js';
import type { OrderStatus } from '../domain/statuses.js';
import { credentialHeaders, testAuth } from './support/credentials.js';
import { isolatedProduct, stockOf, testDatabase } from './support/database.js';
import { newOrderId, orderRequest, PRODUCTION_POLICY, workflowInput } from './support/orders.js';

/**
 * The inventory endpoints on a real Postgres, with a stand-in for Temporal that records the
 * signals the API sends (all the inventory routes use of it).
 */
let db: Database;
let app: ReturnType<typeof createApp>;
const signals: { workflowId: string; name: string; arg: unknown }[] = [];
const errors: string[] = [];
/** Workflow IDs whose signal fails as if the workflow were gone. */
const gone = new Set<string>();

const temporal = {
  withDeadline: <T>(_deadline: number, call: () => Promise<T>) => call(),
  workflow: {
    getHandle: (workflowId: string) => ({
      async signal(definition: { name: string }, arg: unknown) {
        if (gone.has(workflowId)) throw new WorkflowNotFoundError('workflow not found', workflowId, undefined);
        signals.push({ workflowId, name: definition.name, arg });
      },
    }),
  },
} as unknown as Client;

beforeAll(async () => {
  db = await testDatabase(5);
  app = createApp({
    db,
    temporal,
    auth: testAuth,
    orderPolicy: PRODUCTION_POLICY,
    log: { error: (_error, message) => errors.push(message), info: () => {} },
  });
});

beforeEach(() => {
  signals.length = 0;
  errors.length = 0;
});

afterAll(async () => {
  await db?.close();
});

/** A read-model row, as the workflow's activity writes it, for an order of these skus. */
async function readModelOrder(status: OrderStatus, skus: string[]): Promise<string> {
  const req = orderRequest({ orderId: newOrderId('inv-api'), items: skus.map((sku) => ({ sku, quantity: 1 })) });
  const input = workflowInput(req, new Date().toISOString());
  const { timeline: _timeline, ...view } = initialOrderView(input);
  await db.insert(orders).values({
    orderId: req.orderId,
    status,
    customerId: req.customer.id,
    channel: req.channel,
    requestHash: input.requestHash,
    input,
    view: { ...view, status },
    cancellableUntil: new Date(input.cancellableUntil),
  });
  return req.orderId;
}

/** The warehouse's system makes the adjustments and reads the levels. */
const asWarehouse = credentialHeaders('warehouse');

function adjust(body: object, idempotencyKey?: string) {
  const call = request(app).post('/inventory/adjustments').set(asWarehouse).send(body);
  return idempotencyKey === undefined ? call : call.set('Idempotency-Key', idempotencyKey);
}

describe('POST /inventory/adjustments', () => {
  it('applies a restock as one movement and wakes the backordered orders of that sku, not the others', async () => {
    const sku = await isolatedProduct(db, { 'wh-east': 0 });
    const other = await isolatedProduct(db, { 'wh-east': 0 });
    const waiting = await readModelOrder('backordered', [other, sku]);
    const unreachable = await readModelOrder('backordered', [sku]);
    gone.add(orderWorkflowId(unreachable));
    const confirmed = await readModelOrder('confirmed', [sku]);
    const waitingForOther = await readModelOrder('backordered', [other]);

    const response = await adjust({ warehouseId: 'wh-east', sku, delta: 5, reason: 'restock', note: 'PO-123' });

    expect(response.status).toBe(201);
    expect(response.body).toEqual({
      warehouseId: 'wh-east',
      sku,
      onHand: 5,
      reserved: 0,
      available: 5,
      movementKey: expect.stringMatching(/^adjustment:[0-9a-f-]{36}$/),
      applied: true,
      wokeOrders: [waiting],
    });
    expect(signals).toEqual([
      { workflowId: orderWorkflowId(waiting), name: 'stockArrived', arg: { sku, warehouseId: 'wh-east' } },
    ]);
    expect(signals.map((s) => s.workflowId)).not.toContain(orderWorkflowId(confirmed));
    expect(signals.map((s) => s.workflowId)).not.toContain(orderWorkflowId(waitingForOther));
    // The order whose workflow is gone is logged, and failed nobody else.
    expect(errors).toEqual([`could not tell order ${unreachable} that ${sku} arrived at wh-east`]);

    const [movement] = await db
      .select()
      .from(stockMovements)
      .where(eq(stockMovements.idempotencyKey, response.body.movementKey));
    expect(movement).toMatchObject({
      warehouseId: 'wh-east',
      sku,
      kind: 'adjustment',
      onHandDelta: 5,
      reservedDelta: 0,
      reason: 'restock: PO-123',
      orderId: null,
    });
    expect(await stockOf(db, sku)).toEqual({ 'wh-east': { onHand: 5, reserved: 0 } });
  });

  it('wakes nobody when stock is taken away', async () => {
    const sku = await isolatedProduct(db, { 'wh-east': 5 });
    await readModelOrder('backordered', [sku]);
    const response = await adjust({ warehouseId: 'wh-east', sku, delta: -2, reason: 'damaged' });
    expect(response.status).toBe(201);
    expect(response.body).toMatchObject({ onHand: 3, reserved: 0, available: 3, applied: true, wokeOrders: [] });
    expect(signals).toEqual([]);
  });

  it('applies a request once however often it is sent with the same Idempotency-Key', async () => {
    const sku = await isolatedProduct(db, { 'wh-east': 10 });
    const key = randomUUID();
    const body = { warehouseId: 'wh-east', sku, delta: 4, reason: 'found' };

    const first = await adjust(body, key);
    const again = await adjust(body, key);
    const third = await adjust(body, key);

    expect(first.status).toBe(201);
    expect(first.body).toMatchObject({ onHand: 14, available: 14, movementKey: `adjustment:${key}`, applied: true });
    expect([again.status, third.status]).toEqual([200, 200]);
    expect(again.body).toMatchObject({
      warehouseId: 'wh-east',
      sku,
      onHand: 14,
      reserved: 0,
      available: 14,
      movementKey: `adjustment:${key}`,
      applied: false,
    });
    expect(await stockOf(db, sku)).toEqual({ 'wh-east': { onHand: 14, reserved: 0 } });
    expect(
      await db
        .select()
        .from(stockMovements)
        .where(eq(stockMovements.idempotencyKey, `adjustment:${key}`)),
    ).toHaveLength(1);

    // The same key for another adjustment is a mistake, not a replay.
    const reused = await adjust({ ...body, delta: 5 }, key);
    expect(reused.status).toBe(409);
    expect(reused.body.errors).toEqual([
      { field: 'Idempotency-Key', message: 'already used for a different adjustment' },
    ]);
    const elsewhere = await adjust({ ...body, warehouseId: 'wh-west' }, key);
    expect(elsewhere.status).toBe(409);
    // Not even the empty stock row a first adjustment at wh-west would create.
    expect(await stockOf(db, sku)).toEqual({ 'wh-east': { onHand: 14, reserved: 0 } });
  });

  it('refuses a key longer than 200 characters', async () => {
    const sku = await isolatedProduct(db, { 'wh-east': 1 });
    const response = await adjust({ warehouseId: 'wh-east', sku, delta: 1, reason: 'found' }, 'k'.repeat(201));
    expect(response.status).toBe(400);
    expect(response.body.errors.map((e: { field: string }) => e.field)).toEqual(['Idempotency-Key']);
    expect(await stockOf(db, sku)).toEqual({ 'wh-east': { onHand: 1, reserved: 0 } });
  });

  it('answers 409 naming delta, and changes nothing, when it would take reserved or missing units', async () => {
    const sku = await isolatedProduct(db, { 'wh-east': 10 });
    await db.transaction((tx) =>
      moveStock(tx, {
        key: `test-reserve:${sku}`,
        warehouseId: 'wh-east',
        sku,
        kind: 'reserve',
        onHandDelta: 0,
        reservedDelta: 6,
      }),
    );
    const key = randomUUID();

    const refused = await adjust({ warehouseId: 'wh-east', sku, delta: -5, reason: 'cycle_count' }, key);

    expect(refused.status).toBe(409);
    expect(refused.headers['content-type']).toContain('application/problem+json');
    expect(refused.body.errors).toHaveLength(1);
    expect(refused.body.errors[0]).toMatchObject({
      field: 'delta',
      message: expect.stringMatching(/^4 units of .* are available/),
    });
    expect(await stockOf(db, sku)).toEqual({ 'wh-east': { onHand: 10, reserved: 6 } });
    expect(
      await db
        .select()
        .from(stockMovements)
        .where(eq(stockMovements.idempotencyKey, `adjustment:${key}`)),
    ).toEqual([]);

    // Every available unit may go; the key of the refused request was not used up.
    const allowed = await adjust({ warehouseId: 'wh-east', sku, delta: -4, reason: 'cycle_count' }, key);
    expect(allowed.status).toBe(201);
    expect(allowed.body).toMatchObject({ onHand: 6, reserved: 6, available: 0, applied: true });
  });

  it('starts a known warehouse and sku without stock at 0/0, and refuses to take units from it', async () => {
    const sku = await isolatedProduct(db, { 'wh-east': 1 });

    const refused = await adjust({ warehouseId: 'wh-central', sku, delta: -1, reason: 'lost' });
    expect(refused.status).toBe(409);
    expect(refused.body.errors[0].field).toBe('delta');
    expect(await stockOf(db, sku)).toEqual({ 'wh-east': { onHand: 1, reserved: 0 } });

    const created = await adjust({ warehouseId: 'wh-central', sku, delta: 3, reason: 'restock' });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({ warehouseId: 'wh-central', sku, onHand: 3, reserved: 0, available: 3 });
    expect(await stockOf(db, sku)).toEqual({
      'wh-east': { onHand: 1, reserved: 0 },
      'wh-central': { onHand: 3, reserved: 0 },
    });
  });

  it('answers 404 for an unknown sku or warehouse', async () => {
    const unknownSku = await adjust({ warehouseId: 'wh-east', sku: 'NO-SUCH-SKU', delta: 1, reason: 'found' });
    expect(unknownSku.status).toBe(404);
    expect(unknownSku.headers['content-type']).toContain('application/problem+json');
    expect(unknownSku.body.errors).toEqual([{ field: 'sku', message: 'unknown sku NO-SUCH-SKU' }]);

    const unknownWarehouse = await adjust({ warehouseId: 'wh-north', sku: 'MUG-CERAMIC', delta: 1, reason: 'found' });
    expect(unknownWarehouse.status).toBe(404);
    expect(unknownWarehouse.body.errors).toEqual([{ field: 'warehouseId', message: 'unknown warehouse wh-north' }]);
    expect(await db.select().from(stock).where(eq(stock.warehouseId, 'wh-north'))).toEqual([]);
  });

  it('answers a bad body with 400 naming each field', async () => {
    const response = await adjust({ warehouseId: 'wh-east', sku: 'bad sku!', delta: 0, reason: 'stolen', extra: true });
    expect(response.status).toBe(400);
    expect(response.headers['content-type']).toContain('application/problem+json');
    const fields = response.body.errors.map((e: { field: string }) => e.field);
    expect(fields).toEqual(expect.arrayContaining(['sku', 'delta', 'reason', '']));
    expect(
      response.body.errors.some((e: { field: string; message: string }) => e.field === '' && /extra/.test(e.message)),
    ).toBe(true);

    const fractional = await adjust({ warehouseId: 'wh-east', sku: 'MUG-CERAMIC', delta: 1.5, reason: 'found' });
    expect(fractional.status).toBe(400);
    expect(fractional.body.errors.map((e: { field: string }) => e.field)).toEqual(['delta']);

    const missing = await adjust({});
    expect(missing.status).toBe(400);
    expect(missing.body.errors.map((e: { field: string }) => e.field).sort()).toEqual([
      'delta',
      'reason',
      'sku',
      'warehouseId',
    ]);
  });
});

describe('GET /inventory', () => {
  it('lists stock by warehouse and sku, filtered by either', async () => {
    const sku = await isolatedProduct(db, { 'wh-west': 7, 'wh-east': 3 });
    await db.transaction((tx) =>
      moveStock(tx, {
        key: `test-reserve:${sku}`,
        warehouseId: 'wh-west',
        sku,
        kind: 'reserve',
        onHandDelta: 0,
        reservedDelta: 2,
      }),
    );

    const bySku = await request(app).get('/inventory').set(asWarehouse).query({ sku });
    expect(bySku.status).toBe(200);
    expect(bySku.body).toEqual({
      inventory: [
        { warehouseId: 'wh-east', sku, onHand: 3, reserved: 0, available: 3 },
        { warehouseId: 'wh-west', sku, onHand: 7, reserved: 2, available: 5 },
      ],
    });

    const both = await request(app).get('/inventory').set(asWarehouse).query({ sku, warehouseId: 'wh-west' });
    expect(both.body.inventory).toEqual([{ warehouseId: 'wh-west', sku, onHand: 7, reserved: 2, available: 5 }]);

    const byWarehouse = await request(app).get('/inventory').set(asWarehouse).query({ warehouseId: 'wh-west' });
    const rows = byWarehouse.body.inventory as { warehouseId: string; sku: string }[];
    expect(rows.every((row) => row.warehouseId === 'wh-west')).toBe(true);
    expect(rows.map((row) => row.sku)).toContain(sku);
    expect(rows.map((row) => row.sku)).toEqual(rows.map((row) => row.sku).sort());

    const all = (await request(app).get('/inventory').set(asWarehouse)).body.inventory as {
      warehouseId: string;
      sku: string;
    }[];
    const keys = all.map((row) => `${row.warehouseId} ${row.sku}`);
    expect(keys).toEqual([...keys].sort());
    // Every warehouse (other test files running on this database add warehouses of their own).
    expect([...new Set(all.map((row) => row.warehouseId))]).toEqual(
      expect.arrayContaining(['wh-central', 'wh-east', 'wh-west']),
    );

    expect((await request(app).get('/inventory').set(asWarehouse).query({ sku: 'NO-SUCH-SKU' })).body).toEqual({
      inventory: [],
    });
  });

  it('answers an unknown or repeated parameter with 400', async () => {
    const unknown = await request(app).get('/inventory?warehouse=wh-east').set(asWarehouse);
    expect(unknown.status).toBe(400);
    expect(unknown.body.errors[0].message).toMatch(/warehouse/);
    const repeated = await request(app).get('/inventory?sku=A&sku=B').set(asWarehouse);
    expect(repeated.status).toBe(400);
    expect(repeated.body.errors.map((e: { field: string }) => e.field)).toEqual(['sku']);
  });
});
