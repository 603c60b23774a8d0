import { randomUUID } from 'node:crypto';
import type { Client } from '@temporalio/client';
import { WorkflowNotFoundError } from '@temporalio/common';
import type { Express } from 'express';
import request from 'supertest';
import { beforeAll, describe, expect, it } from 'vitest';
import { createApp } from '../api/app.js';
import { signWebhook } from '../platform/credentials.js';
import { createDatabase, type Database } from '../db/client.js';
import { shipments } from '../db/schema.js';
import { orderWorkflowId } from '../domain/ids.js';
import type { OrderWorkflowInput } from '../domain/order.js';
import { isDatabaseUnavailable } from '../db/unavailable.js';
import { credentialHeaders, TEST_CARRIER_SECRET, testAuth } from './support/credentials.js';
import { testDatabase } from './support/database.js';
import { orderRequest, PRODUCTION_POLICY } from './support/orders.js';
import { freePort } from './support/ports.js';

/**
 * Defects `npm run chaos` found, pinned on the real app and Postgres with a stand-in for Temporal
 * that records starts and whose closed workflows refuse signals as Temporal does.
 */
let db: Database;
let app: Express;
const started: OrderWorkflowInput[] = [];
const closed = new Set<string>();

const temporal = {
  withDeadline: <T>(_deadline: number, call: () => Promise<T>) => call(),
  workflow: {
    start: async (_workflow: string, options: { args: [OrderWorkflowInput] }) => {
      started.push(options.args[0]);
    },
    getHandle: (workflowId: string) => ({
      async signal() {
        if (closed.has(workflowId))
          throw new WorkflowNotFoundError('workflow execution already completed', workflowId, undefined);
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
    log: { error: () => {}, info: () => {} },
  });
});

describe('POST /orders', () => {
  it('answers 202 with the totals and item prices the catalog gives, before the workflow prices it', async () => {
    // MUG-CERAMIC 1400 × 2 + BOOK-TEMPORAL 3600; 1.4 kg standard: 599 + 100 for the second kilogram.
    const body = orderRequest();
    const response = await request(app).post('/orders').set(credentialHeaders('service')).send(body);
    expect(response.status).toBe(202);
    expect(response.body.totals).toEqual({ subtotal: 6400, shipping: 699, total: 7099, currency: 'USD' });
    expect(response.body.items).toEqual([
      { sku: 'MUG-CERAMIC', name: 'Ceramic mug', quantity: 2, unitPrice: 1400 },
      { sku: 'BOOK-TEMPORAL', name: 'Durable Execution in Practice (book)', quantity: 1, unitPrice: 3600 },
    ]);
    // The workflow still gets the request, not the price: it prices from the catalog itself.
    expect(started.at(-1)!.request).toEqual(body);
    const retry = await request(app).post('/orders').set(credentialHeaders('service')).send(body);
    expect(retry.status).toBe(200);
    expect(retry.body.totals.total).toBe(7099);
  });
});

describe('carrier webhooks', () => {
  it('accepts a late scan of a closed order (202, kept in the tracking history) instead of a 404 the carrier retries for days', async () => {
    const body = orderRequest();
    expect((await request(app).post('/orders').set(credentialHeaders('service')).send(body)).status).toBe(202);
    const trackingNumber = `PP-${randomUUID()}`;
    await db.insert(shipments).values({
      id: `${body.orderId}-1`,
      orderId: body.orderId,
      carrier: 'parcelpost',
      service: 'ground',
      box: 'S',
      weightGrams: 500,
      labelCost: 700,
      currency: 'USD',
      promisedBy: new Date(),
      trackingNumber,
      status: 'delivered',
    });
    closed.add(orderWorkflowId(body.orderId));
    const scan = JSON.stringify({ trackingNumber, type: 'in_transit', at: new Date().toISOString() });
    const response = await request(app)
      .post('/carriers/parcelpost/events')
      .set({ 'content-type': 'application/json', ...signWebhook(TEST_CARRIER_SECRET, scan) })
      .send(scan);
    expect(response.status).toBe(202);
  });
});

describe('while Postgres restarts', () => {
  it('answers 503 with Retry-After, not 500, so clients retry', async () => {
    // Nothing listens on this port: every query fails to connect, as while Postgres starts again.
    const down = createDatabase(`postgres://postgres:postgres@127.0.0.1:${await freePort()}/orders`, { max: 1 });
    const logged: string[] = [];
    const offline = createApp({
      db: down,
      temporal,
      auth: testAuth,
      orderPolicy: PRODUCTION_POLICY,
      log: { error: (_e, message) => logged.push(message), info: () => {} },
    });
    try {
      for (const response of [
        await request(offline).get('/orders/any').set(credentialHeaders('service')),
        await request(offline).post('/orders').set(credentialHeaders('service')).send(orderRequest()),
      ]) {
        expect(response.status).toBe(503);
        expect(response.headers['retry-after']).toBe('5');
      }
      expect(logged.filter((message) => !message.startsWith('Postgres unavailable'))).toEqual([]);
    } finally {
      await down.close().catch(() => {});
    }
  });
});

describe('isDatabaseUnavailable', () => {
  it('knows a query whose connection closed under it (what a Postgres restart does to a pool), however deep the cause', () => {
    const closed = Object.assign(new Error('write CONNECTION_CLOSED 127.0.0.1:5432'), { code: 'CONNECTION_CLOSED' });
    expect(isDatabaseUnavailable(Object.assign(new Error('Failed query: select 1'), { cause: closed }))).toBe(true);
    expect(
      isDatabaseUnavailable(
        Object.assign(new Error('terminating connection due to administrator command'), { code: '57P01' }),
      ),
    ).toBe(true);
    expect(isDatabaseUnavailable(Object.assign(new Error('duplicate key'), { code: '23505' }))).toBe(false);
    expect(isDatabaseUnavailable(new Error('anything else'))).toBe(false);
  });
});
