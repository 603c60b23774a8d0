import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { and, eq, sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Database } from '../db/client.js';
import { notifications, payments, reservations, shipments, trackingEvents } from '../db/schema.js';
import { checkInvariants } from '../db/invariants.js';
import { orderWorkflowId, shipmentWorkflowId } from '../domain/ids.js';
import type { OrderPolicy } from '../domain/order.js';
import { isolatedProduct, stockOf } from './support/database.js';
import { HAPPY_PATH_TIMELINE, orderRequest, PRODUCTION_POLICY } from './support/orders.js';
import { startSystem, type System } from './support/system.js';

/**
 * The whole system on real servers: HTTP → API → Temporal dev server → worker → Postgres, with the
 * simulated warehouse and carrier answering through the API's own webhooks.
 */
let system: System;
let db: Database;
let env: TestWorkflowEnvironment;

const policy: OrderPolicy = {
  ...PRODUCTION_POLICY,
  cancellationBuffer: '2s',
  returnWindow: '3s',
  warehouseTaskSla: '1m',
};

beforeAll(async () => {
  system = await startSystem({ policy });
  ({ db, env } = system);
});

afterAll(async () => {
  await system?.stop();
});

const api = (...args: Parameters<System['api']>) => system.api(...args);
const waitForStatus = (orderId: string, status: string) => system.waitForOrder(orderId, (s) => s === status, 45_000);

describe('end to end', () => {
  it('takes an order posted over HTTP to completed, with one capture of the total and the stock picked exactly once', async () => {
    const sku = await isolatedProduct(db, { 'wh-east': 10, 'wh-west': 10 }, 1999);
    const request = orderRequest({ items: [{ sku, quantity: 3 }] });

    const created = await api('POST', '/orders', request);
    expect(created.status).toBe(202);
    expect(created.body).toMatchObject({ orderId: request.orderId, status: 'received' });
    expect(Date.parse(created.body.cancellableUntil) - Date.parse(created.body.receivedAt)).toBe(2000);

    const retried = await api('POST', '/orders', request);
    expect(retried.status).toBe(200);
    const conflicting = await api('POST', '/orders', { ...request, shippingSpeed: 'overnight' });
    expect(conflicting.status).toBe(409);

    const delivered = await waitForStatus(request.orderId, 'delivered');
    expect(delivered.returnableUntil).not.toBeNull();
    expect(delivered.shipments).toMatchObject([{ shipmentId: `${request.orderId}-1`, status: 'delivered' }]);
    const view = await waitForStatus(request.orderId, 'completed');
    // What the customer was told is part of the order view.
    const told = (await api('GET', `/orders/${request.orderId}`)).body.notifications.map(
      (n: { kind: string }) => n.kind,
    );
    expect(told).toEqual(expect.arrayContaining(['confirmation', 'delivered']));

    expect(view.items).toEqual([{ sku, name: `Test product ${sku}`, quantity: 3, unitPrice: 1999 }]);
    expect(view.totals).toMatchObject({ subtotal: 5997, currency: 'USD' });
    expect(view.totals!.total).toBe(view.totals!.subtotal + view.totals!.shipping);
    expect(view.payment).toEqual({
      status: 'captured',
      authorized: view.totals!.total,
      captured: view.totals!.total,
      refunded: 0,
    });
    expect(view.shipments).toMatchObject([{ warehouseId: 'wh-east', items: [{ sku, quantity: 3 }] }]);
    expect(view.timeline.map((e) => e.type)).toEqual(HAPPY_PATH_TIMELINE);

    // Money: one authorization and one capture, both of the total.
    const ledger = await db.select().from(payments).where(eq(payments.orderId, request.orderId));
    expect(ledger.map((row) => [row.kind, row.amount]).sort()).toEqual([
      ['authorize', view.totals!.total],
      ['capture', view.totals!.total],
    ]);
    // Stock: three units left the east shelf, nothing stays reserved.
    expect(await stockOf(db, sku)).toEqual({
      'wh-east': { onHand: 7, reserved: 0 },
      'wh-west': { onHand: 10, reserved: 0 },
    });
    expect(
      await db
        .select()
        .from(reservations)
        .where(and(eq(reservations.orderId, request.orderId), eq(reservations.status, 'held'))),
    ).toEqual([]);
    // The carrier's scans are in the shipment's history; the customer heard of each milestone.
    const [shipment] = await db.select().from(shipments).where(eq(shipments.orderId, request.orderId));
    expect(shipment?.status).toBe('delivered');
    const scans = await db
      .select()
      .from(trackingEvents)
      .where(eq(trackingEvents.trackingNumber, shipment!.trackingNumber!));
    expect(scans.map((s) => s.type).sort()).toEqual(['delivered', 'in_transit', 'out_for_delivery']);
    const sent = await db
      .select({ kind: notifications.kind })
      .from(notifications)
      .where(eq(notifications.orderId, request.orderId));
    // A kind sent once per subject carries it (`shipped:<shipmentId>`); the kinds are what count here.
    expect(sent.map((n) => n.kind.split(':')[0]).sort()).toEqual([
      'confirmation',
      'delivered',
      'out_for_delivery',
      'shipped',
    ]);

    // Operators find it in Temporal Web by its search attributes.
    const description = await env.client.workflow.getHandle(orderWorkflowId(request.orderId)).describe();
    expect(description.searchAttributes).toMatchObject({
      OrderStatus: ['completed'],
      CustomerId: ['cust-42'],
      Channel: ['web'],
    });

    const listed = await api('GET', `/orders?status=completed&customerId=cust-42&limit=100`);
    expect(listed.body.orders.map((o: { orderId: string }) => o.orderId)).toContain(request.orderId);
  });

  it('delivers an order whose lines sit in two warehouses as two shipments, one capture each, stock down in both', async () => {
    const east = await isolatedProduct(db, { 'wh-east': 5 }, 1500);
    const west = await isolatedProduct(db, { 'wh-west': 5 }, 2500);
    const request = orderRequest({
      items: [
        { sku: east, quantity: 2 },
        { sku: west, quantity: 1 },
      ],
    });
    expect((await api('POST', '/orders', request)).status).toBe(202);
    const view = await waitForStatus(request.orderId, 'completed');

    // Two parcels, one from each warehouse, each with its own tracking number, both delivered.
    expect(view.shipments).toHaveLength(2);
    const byWarehouse = Object.fromEntries(view.shipments.map((s) => [s.warehouseId, s]));
    expect(byWarehouse['wh-east']).toMatchObject({ status: 'delivered', items: [{ sku: east, quantity: 2 }] });
    expect(byWarehouse['wh-west']).toMatchObject({ status: 'delivered', items: [{ sku: west, quantity: 1 }] });
    const tracking = view.shipments.map((s) => s.trackingNumber);
    expect(new Set(tracking).size).toBe(2);
    expect(tracking.every((t) => typeof t === 'string' && t.length > 0)).toBe(true);
    const labels = await db.select().from(shipments).where(eq(shipments.orderId, request.orderId));
    expect(labels.map((l) => l.status)).toEqual(['delivered', 'delivered']);

    // Money: one authorization of the total, one capture per shipment adding up to it.
    const ledger = await db.select().from(payments).where(eq(payments.orderId, request.orderId));
    const captures = ledger.filter((row) => row.kind === 'capture');
    expect(captures).toHaveLength(2);
    expect(captures.reduce((sum, row) => sum + row.amount, 0)).toBe(view.totals!.total);
    expect(ledger.filter((row) => row.kind === 'authorize').map((row) => row.amount)).toEqual([view.totals!.total]);
    expect(ledger.filter((row) => row.kind !== 'authorize' && row.kind !== 'capture')).toEqual([]);
    expect(view.payment).toMatchObject({ status: 'captured', captured: view.totals!.total, refunded: 0 });

    // Stock went down in both warehouses, nothing held.
    expect(await stockOf(db, east)).toEqual({ 'wh-east': { onHand: 3, reserved: 0 } });
    expect(await stockOf(db, west)).toEqual({ 'wh-west': { onHand: 4, reserved: 0 } });
    expect(await checkInvariants(db, { orderIds: [request.orderId] })).toEqual([]);

    // Each parcel is a workflow of its own, a child of the order.
    for (const n of [1, 2]) {
      const child = await env.client.workflow.getHandle(shipmentWorkflowId(request.orderId, n)).describe();
      expect(child.status.name).toBe('COMPLETED');
      expect(child.parentExecution?.workflowId).toBe(orderWorkflowId(request.orderId));
    }
  });

  it('answers bad input with 400 problem+json naming each field, and starts nothing', async () => {
    const request = orderRequest();
    const bad = await api('POST', '/orders', {
      ...request,
      items: [
        { sku: 'NO-SUCH-SKU', quantity: 1 },
        { sku: 'MUG-CERAMIC', quantity: 0 },
      ],
      shippingAddress: { ...request.shippingAddress, country: 'usa' },
      extra: true,
    });
    expect(bad.status).toBe(400);
    expect(bad.type).toContain('application/problem+json');
    const fields = bad.body.errors.map((e: { field: string }) => e.field);
    expect(fields).toEqual(expect.arrayContaining(['items[1].quantity', 'shippingAddress.country']));
    expect(
      bad.body.errors.some((e: { field: string; message: string }) => e.field === '' && /extra/.test(e.message)),
    ).toBe(true);

    const unknownSku = await api('POST', '/orders', { ...request, items: [{ sku: 'NO-SUCH-SKU', quantity: 1 }] });
    expect(unknownSku.status).toBe(400);
    expect(unknownSku.body.errors).toEqual([{ field: 'items[0].sku', message: 'unknown sku NO-SUCH-SKU' }]);

    expect((await api('GET', `/orders/${request.orderId}`)).status).toBe(404);
    await expect(env.client.workflow.getHandle(orderWorkflowId(request.orderId)).describe()).rejects.toThrow(
      /not found/i,
    );
    const [{ count }] = (await db.execute<{ count: number }>(
      sql`select count(*)::int as count from orders where order_id = ${request.orderId}`,
    )) as unknown as [{ count: number }];
    expect(count).toBe(0);
  });

  it('reports health and refuses unknown tracking numbers', async () => {
    expect((await api('GET', '/healthz')).body).toEqual({ status: 'ok', checks: { postgres: 'ok', temporal: 'ok' } });
    const unknown = await system.carrierWebhook('parcelpost', {
      trackingNumber: 'PP000',
      type: 'delivered',
      at: new Date().toISOString(),
    });
    expect(unknown.status).toBe(404);
    const products = await api('GET', '/products');
    expect(products.body.products.length).toBeGreaterThanOrEqual(10);
    expect(products.body.products[0].stock[0]).toHaveProperty('available');
  });
});
