import { Client, Connection, ServiceError, WorkflowUpdateRPCTimeoutOrCancelledError } from '@temporalio/client';
import { NamespaceNotFoundError, WorkflowNotFoundError } from '@temporalio/common';
import { eq } from 'drizzle-orm';
import type { Express } from 'express';
import request from 'supertest';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createApp } from '../api/app.js';
import { authenticateKey, parseApiKeys, signWebhook, verifyWebhook } from '../platform/credentials.js';
import { ALL_OPERATIONS } from '../api/contract.js';
import { parseConfig } from '../config/index.js';
import type { Database } from '../db/client.js';
import { orders, shipments, trackingEvents } from '../db/schema.js';
import { orderWorkflowId } from '../domain/ids.js';
import { roles } from '../domain/schemas.js';
import { assertConforms } from './support/contract.js';
import { type Caller, credentialHeaders, TEST_CARRIER_SECRET, TEST_KEYS, testAuth } from './support/credentials.js';
import { isolatedProduct, testDatabase } from './support/database.js';
import { orderRequest, PRODUCTION_POLICY } from './support/orders.js';
import { freePort } from './support/ports.js';

/**
 * Who may call what, the signed carrier webhook, Idempotency-Key replays, the hardening, and the
 * OpenAPI document's completeness, on the real app and Postgres with a stand-in for Temporal that
 * records signals (no route here needs a running workflow).
 */
let db: Database;
let app: Express;
const signals: { workflowId: string; name: string; arg: unknown }[] = [];
const logged: string[] = [];

const temporal = {
  withDeadline: <T>(_deadline: number, call: () => Promise<T>) => call(),
  workflow: {
    start: async () => {
      throw new Error('no workflow may start in this test');
    },
    getHandle: (workflowId: string) => ({
      async signal(definition: { name: string }, arg: unknown) {
        if (workflowId === orderWorkflowId('gone'))
          throw new WorkflowNotFoundError('workflow not found', workflowId, undefined);
        signals.push({ workflowId, name: definition.name, arg });
      },
      async executeUpdate() {
        throw new Error('no update in this test');
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
    log: {
      error: (_error, message) => logged.push(message),
      info: (fields, message) => logged.push(`${message} ${JSON.stringify(fields)}`),
    },
  });
});

beforeEach(() => {
  signals.length = 0;
  logged.length = 0;
});

afterAll(async () => {
  await db?.close();
});

/** `/orders/{orderId}/cancel` → a concrete path. */
const concrete = (path: string) => path.replace(/\{[^}]+\}/g, 'no-such-thing');

/** Sends a call as a caller, checking the answer against the contract. */
async function call(method: string, path: string, as: Caller, body?: unknown, headers: Record<string, string> = {}) {
  const agent = request(app);
  const test = agent[method as 'get' | 'post'](path).set({ ...credentialHeaders(as), ...headers });
  const response = await (body === undefined ? test : test.send(body as object));
  assertConforms(method.toUpperCase(), path, response.status, response.headers['content-type'] ?? '', response.body);
  return response;
}

describe('the auth matrix: every operation × every role × no credential', () => {
  const callers: Caller[] = ['anonymous', ...roles];
  const cases = ALL_OPERATIONS.flatMap((operation) => callers.map((as) => [operation, as] as const));

  it.each(
    cases.map(([operation, as]) => [`${operation.method.toUpperCase()} ${operation.path}`, as, operation] as const),
  )('%s as %s', async (_name, as, operation) => {
    // An empty body is invalid everywhere, so an authorized caller gets a 400 and nothing happens.
    const response = await call(
      operation.method,
      concrete(operation.path),
      as,
      operation.request?.body ? {} : undefined,
    );
    const access = operation.access;
    if (access.kind === 'public') {
      // Health answers 503 here: the stand-in for Temporal has no health to report.
      expect(response.status).toBe(operation.operationId === 'health' ? 503 : 200);
    } else if (access.kind === 'carrierSignature') {
      expect(response.status).toBe(401);
    } else if (as === 'anonymous') {
      expect(response.status).toBe(401);
      expect(response.headers['www-authenticate']).toMatch(/^Bearer/);
    } else if (access.roles.includes(as)) {
      expect([200, 400, 404]).toContain(response.status);
    } else {
      expect(response.status).toBe(403);
      expect(response.body.detail).toContain(as);
    }
    if (response.status === 401 || response.status === 403)
      expect(response.headers['content-type']).toContain('application/problem+json');
  });

  it('refuses an unknown key, another scheme, and a key with extra text, all as 401', async () => {
    for (const authorization of [
      'Bearer not-a-configured-key-at-all',
      `Basic ${TEST_KEYS.admin}`,
      `Bearer ${TEST_KEYS.admin}x`,
      `Bearer`,
      TEST_KEYS.admin,
    ]) {
      const response = await request(app).get('/products').set('authorization', authorization);
      expect(response.status, authorization).toBe(401);
      expect(response.headers['content-type']).toContain('application/problem+json');
    }
    expect((await request(app).get('/products').set('authorization', `bearer ${TEST_KEYS.service}`)).status).toBe(200);
  });

  it('answers nobody without a key on a path it does not have, and a keyed caller 404', async () => {
    expect((await request(app).get('/admin/secrets')).status).toBe(401);
    const unknown = await request(app).get('/admin/secrets').set(credentialHeaders('service'));
    expect(unknown.status).toBe(404);
    expect(unknown.headers['content-type']).toContain('application/problem+json');
  });

  it('applies the same rules to every spelling Express routes to the same handler', async () => {
    const order = { orderId: 'spelling-1' };
    for (const path of ['/ORDERS', '/Orders/', '/orders/']) {
      expect((await request(app).post(path).set(credentialHeaders('warehouse')).send(order)).status, path).toBe(403);
      expect((await request(app).post(path).send(order)).status, path).toBe(401);
    }
    expect((await request(app).get('/INVENTORY').set(credentialHeaders('service'))).status).toBe(403);
    expect((await request(app).post('/Warehouse/Events').set(credentialHeaders('support')).send({})).status).toBe(403);
  });

  it('answers a method the path does not have with 405 and Allow', async () => {
    const response = await request(app).delete('/orders').set(credentialHeaders('admin'));
    expect(response.status).toBe(405);
    expect(response.headers.allow).toBe('POST, GET, HEAD');
    expect(response.headers['content-type']).toContain('application/problem+json');
  });

  it('never logs a key', async () => {
    await request(app).get('/products').set(credentialHeaders('support'));
    await request(app).get('/products').set('authorization', 'Bearer not-a-configured-key-at-all');
    const text = logged.join('\n');
    expect(text).toContain('"caller":"support-desk"');
    for (const key of [...Object.values(TEST_KEYS), 'not-a-configured-key-at-all']) expect(text).not.toContain(key);
  });
});

describe('API keys', () => {
  it('parses key:role, name=key:role and name=sha256:<digest>:role, and acts as the name, never the key', () => {
    const digest = 'b'.repeat(64);
    const keys = parseApiKeys(
      ` anon-key-0123456789abcdef:service , desk=named-key-0123456789:support,ops=sha256:${digest}:admin`,
    );
    expect(keys.map((key) => [key.name, key.role])).toEqual([
      [expect.stringMatching(/^service-[0-9a-f]{8}$/), 'service'],
      ['desk', 'support'],
      ['ops', 'admin'],
    ]);
    expect(authenticateKey(keys, 'named-key-0123456789')).toEqual({ id: 'desk', role: 'support' });
    expect(authenticateKey(keys, 'anon-key-0123456789abcdef')?.id).not.toContain('anon-key');
    expect(authenticateKey(keys, 'named-key-012345678')).toBeNull();
  });

  it('rejects bad entries by position, without echoing them', () => {
    for (const [text, message] of [
      ['short:admin', /entry 1: a key is 16-200/],
      ['ok-key-0123456789abcdef:root', /entry 1: role must be one of/],
      ['a-key-0123456789abcdef:admin,a-key-0123456789abcdef:service', /same key appears twice/],
      ['no role at all', /expected key:role/],
    ] as const) {
      expect(() => parseApiKeys(text)).toThrow(message);
      try {
        parseApiKeys(text);
      } catch (error) {
        expect((error as Error).message).not.toContain('0123456789abcdef');
      }
    }
    expect(() => parseConfig({ API_KEYS: 'leaky-secret-value-123:nobody' })).toThrow(
      /API_KEYS: API_KEYS entry 1: role must be/,
    );
    expect(() => parseConfig({ API_KEYS: 'leaky-secret-value-123:nobody' })).not.toThrow(/leaky/);
  });

  it('gives the simulators the first warehouse key unless SIMULATOR_API_KEY says otherwise', () => {
    const env = { API_KEYS: `a=${TEST_KEYS.admin}:admin,w=${TEST_KEYS.warehouse}:warehouse` };
    expect(parseConfig(env).SIMULATOR_API_KEY).toBe(TEST_KEYS.warehouse);
    expect(parseConfig({ ...env, SIMULATOR_API_KEY: 'another-key-0123456789' }).SIMULATOR_API_KEY).toBe(
      'another-key-0123456789',
    );
    expect(parseConfig({}).API_KEYS).toEqual([]);
  });
});

describe('signed carrier webhooks', () => {
  const event = { trackingNumber: 'PP-NO-SUCH-PARCEL', type: 'in_transit', at: '2025-01-16T08:00:00.000Z' };
  const post = (body: string, headers: Record<string, string>) =>
    request(app)
      .post('/carriers/parcelpost/events')
      .set({ 'content-type': 'application/json', ...headers })
      .send(body);

  it('accepts a good signature (the parcel is unknown: 404, past the door)', async () => {
    const body = JSON.stringify(event);
    const response = await post(body, signWebhook(TEST_CARRIER_SECRET, body));
    expect(response.status).toBe(404);
    expect(response.body.title).toBe('Unknown tracking number');
  });

  it('refuses a missing, wrong or tampered signature, and a replay older than 5 minutes', async () => {
    const body = JSON.stringify(event);
    const good = signWebhook(TEST_CARRIER_SECRET, body);
    const cases: [string, string, Record<string, string>][] = [
      ['no headers', body, {}],
      ['no timestamp', body, { 'x-signature': good['x-signature'] }],
      ['another secret', body, signWebhook('another-secret-0123456789abcdef0123456789', body)],
      ['tampered body', body.replace('in_transit', 'delivered'), good],
      ['another timestamp', body, { ...good, 'x-timestamp': String(Number(good['x-timestamp']) + 1) }],
      ['replayed after 6 minutes', body, signWebhook(TEST_CARRIER_SECRET, body, new Date(Date.now() - 6 * 60_000))],
      ['from 6 minutes ahead', body, signWebhook(TEST_CARRIER_SECRET, body, new Date(Date.now() + 6 * 60_000))],
      ['an API key instead', body, credentialHeaders('admin')],
      ['not hex', body, { ...good, 'x-signature': 'sha256=zz' }],
    ];
    for (const [name, sent, headers] of cases) {
      const response = await post(sent, headers);
      expect(response.status, name).toBe(401);
      expect(response.headers['content-type'], name).toContain('application/problem+json');
    }
    expect(signals).toEqual([]);
  });

  it('checks the signature against the raw bytes, so whitespace and key order matter', () => {
    const body = JSON.stringify(event);
    const headers = signWebhook(TEST_CARRIER_SECRET, body);
    const check = (raw: string) =>
      verifyWebhook(
        TEST_CARRIER_SECRET,
        { timestamp: headers['x-timestamp'], signature: headers['x-signature'] },
        Buffer.from(raw),
      );
    expect(check(body)).toEqual({ ok: true });
    expect(check(JSON.stringify(event, null, 1)).ok).toBe(false);
  });

  it('refuses a control character in the detail with a 400 naming `detail`, and changes nothing', async () => {
    const trackingNumber = 'PP-CONTROL-CHARACTERS';
    await db
      .insert(shipments)
      .values({
        id: 'ship-control',
        orderId: 'control-1',
        carrier: 'parcelpost',
        service: 'ground',
        trackingNumber,
        status: 'shipped',
        box: 'S',
        weightGrams: 500,
        labelCost: 500,
        currency: 'USD',
        promisedBy: new Date(),
      })
      .onConflictDoNothing();
    const scan = { trackingNumber, type: 'in_transit', at: '2025-01-16T08:00:00.000Z' };
    for (const detail of ['bell \u0007 rang', 'unit\u001fseparator', 'C1 \u0085 next line']) {
      const body = JSON.stringify({ ...scan, detail });
      const response = await post(body, signWebhook(TEST_CARRIER_SECRET, body));
      expect(response.status, JSON.stringify(detail)).toBe(400);
      expect(response.headers['content-type']).toContain('application/problem+json');
      expect(response.body.errors, JSON.stringify(detail)).toEqual([
        { field: 'detail', message: expect.stringMatching(/control characters/) },
      ]);
    }
    expect(signals).toEqual([]);
    expect(await db.select().from(trackingEvents).where(eq(trackingEvents.trackingNumber, trackingNumber))).toEqual([]);

    const clean = JSON.stringify({ ...scan, detail: 'departed facility' });
    expect((await post(clean, signWebhook(TEST_CARRIER_SECRET, clean))).status).toBe(202);
    expect(signals).toHaveLength(1);
  });

  it('still validates a well-signed body: 400 names the fields, 415 for another media type', async () => {
    const bad = JSON.stringify({ trackingNumber: '', type: 'teleported', at: 'yesterday' });
    const response = await post(bad, signWebhook(TEST_CARRIER_SECRET, bad));
    expect(response.status).toBe(400);
    expect(response.body.errors.map((e: { field: string }) => e.field).sort()).toEqual([
      'at',
      'trackingNumber',
      'type',
    ]);
    const text = 'trackingNumber=PP1';
    const form = await request(app)
      .post('/carriers/parcelpost/events')
      .set({ 'content-type': 'text/plain', ...signWebhook(TEST_CARRIER_SECRET, text) })
      .send(text);
    expect(form.status).toBe(415);
  });
});

describe('Idempotency-Key', () => {
  const event = (orderId: string) => ({
    taskId: `${orderId}-pick`,
    orderId,
    type: 'pick_completed',
    at: new Date().toISOString(),
  });

  it('answers a replay with the first response and signals once', async () => {
    const body = event('idem-1');
    const first = await call('post', '/warehouse/events', 'warehouse', body, { 'idempotency-key': 'key-idem-1' });
    const again = await call('post', '/warehouse/events', 'warehouse', body, { 'idempotency-key': 'key-idem-1' });
    expect(first.status).toBe(202);
    expect(again.status).toBe(202);
    expect(again.body).toEqual(first.body);
    expect(again.headers['idempotent-replayed']).toBe('true');
    expect(first.headers['idempotent-replayed']).toBeUndefined();
    expect(signals.filter((s) => s.workflowId === orderWorkflowId('idem-1'))).toHaveLength(1);
  });

  it('replays a refusal too, and refuses the key for another body', async () => {
    const gone = event('gone');
    const first = await call('post', '/warehouse/events', 'warehouse', gone, { 'idempotency-key': 'key-gone' });
    expect(first.status).toBe(404);
    const again = await call('post', '/warehouse/events', 'warehouse', gone, { 'idempotency-key': 'key-gone' });
    expect(again.status).toBe(404);
    expect(again.headers['idempotent-replayed']).toBe('true');
    const other = await call('post', '/warehouse/events', 'warehouse', event('idem-2'), {
      'idempotency-key': 'key-gone',
    });
    expect(other.status).toBe(409);
    expect(other.body.errors).toEqual([{ field: 'Idempotency-Key', message: 'already used for a different request' }]);
  });

  it('keeps keys apart per caller, and does not keep a malformed request', async () => {
    const body = event('idem-3');
    await call('post', '/warehouse/events', 'warehouse', body, { 'idempotency-key': 'shared-key' });
    const admin = await call('post', '/warehouse/events', 'admin', body, { 'idempotency-key': 'shared-key' });
    expect(admin.headers['idempotent-replayed']).toBeUndefined();
    expect(signals.filter((s) => s.workflowId === orderWorkflowId('idem-3'))).toHaveLength(2);

    const invalid = await call(
      'post',
      '/warehouse/events',
      'warehouse',
      { orderId: 'idem-4' },
      { 'idempotency-key': 'fix-and-retry' },
    );
    expect(invalid.status).toBe(400);
    const fixed = await call('post', '/warehouse/events', 'warehouse', event('idem-4'), {
      'idempotency-key': 'fix-and-retry',
    });
    expect(fixed.status).toBe(202);
    expect(fixed.headers['idempotent-replayed']).toBeUndefined();
  });

  it('refuses an empty or oversized key', async () => {
    for (const key of [' ', 'k'.repeat(201)]) {
      const response = await call('post', '/warehouse/events', 'warehouse', event('idem-5'), {
        'idempotency-key': key,
      });
      expect(response.status).toBe(400);
      expect(response.body.errors[0].field).toBe('Idempotency-Key');
    }
  });
});

describe('hardening', () => {
  it('sets security headers and echoes a request ID, or makes one', async () => {
    const echoed = await request(app).get('/healthz').set('x-request-id', 'trace-abc.123');
    expect(echoed.headers['x-request-id']).toBe('trace-abc.123');
    expect(echoed.headers).toMatchObject({
      'x-content-type-options': 'nosniff',
      'x-frame-options': 'DENY',
      'referrer-policy': 'no-referrer',
      'cache-control': 'no-store',
      'content-security-policy': "default-src 'none'; frame-ancestors 'none'",
    });
    expect(echoed.headers['x-powered-by']).toBeUndefined();
    const replaced = await request(app).get('/healthz').set('x-request-id', 'bad id\twith spaces');
    expect(replaced.headers['x-request-id']).toMatch(/^[0-9a-f-]{36}$/);
    expect(logged.some((line) => line.includes('"requestId":"trace-abc.123"'))).toBe(true);
  });

  it('rejects unknown fields, oversized bodies, other media types and malformed JSON as problems', async () => {
    const strict = await call('post', '/orders/x/cancel', 'support', { reason: 'x', requestedBy: 'someone else' });
    expect(strict.status).toBe(400);
    expect(strict.body.errors[0].message).toMatch(/requestedBy/);

    const huge = await request(app)
      .post('/orders/x/cancel')
      .set(credentialHeaders('support'))
      .send({ reason: 'x'.repeat(70_000) });
    expect(huge.status).toBe(413);
    expect(huge.headers['content-type']).toContain('application/problem+json');

    const form = await request(app)
      .post('/orders/x/cancel')
      .set(credentialHeaders('support'))
      .type('form')
      .send('reason=x');
    expect(form.status).toBe(415);

    const malformed = await request(app)
      .post('/orders/x/cancel')
      .set({ ...credentialHeaders('support'), 'content-type': 'application/json' })
      .send('{"reason":');
    expect(malformed.status).toBe(400);
    expect(malformed.body).toEqual({
      type: 'about:blank',
      title: 'Malformed JSON',
      status: 400,
      detail: 'The request body is not valid JSON.',
    });
  });

  it('answers 503 with Retry-After, within its deadline, when Temporal does not answer', async () => {
    const connection = Connection.lazy({ address: `127.0.0.1:${await freePort()}` });
    const unreachable = createApp({
      db,
      temporal: new Client({ connection }),
      auth: testAuth,
      orderPolicy: PRODUCTION_POLICY,
      temporalDeadlineMs: 1_000,
      log: { error: () => {}, info: () => {} },
    });
    const started = Date.now();
    const response = await request(unreachable)
      .post('/warehouse/events')
      .set(credentialHeaders('warehouse'))
      .send({ taskId: 't-1', orderId: 'o-1', type: 'pick_completed', at: new Date().toISOString() });
    expect(response.status).toBe(503);
    expect(response.headers['retry-after']).toBe('5');
    expect(response.headers['content-type']).toContain('application/problem+json');
    expect(JSON.stringify(response.body)).not.toMatch(/127\.0\.0\.1|at .*\.js|ECONNREFUSED/);
    expect(Date.now() - started).toBeLessThan(5_000);
    await connection.close();
  });

  it('leaves no order behind when Temporal does not answer the start, and the retry once it is back starts it', async () => {
    const order = orderRequest();
    const connection = Connection.lazy({ address: `127.0.0.1:${await freePort()}` });
    const unreachable = createApp({
      db,
      temporal: new Client({ connection }),
      auth: testAuth,
      orderPolicy: PRODUCTION_POLICY,
      temporalDeadlineMs: 1_000,
      log: { error: () => {}, info: () => {} },
    });
    const failed = await request(unreachable).post('/orders').set(credentialHeaders('service')).send(order);
    expect(failed.status).toBe(503);
    await connection.close();
    expect(await db.select().from(orders).where(eq(orders.orderId, order.orderId))).toEqual([]);

    const starts: { workflowId: string }[] = [];
    const back = createApp({
      db,
      temporal: {
        withDeadline: <T>(_deadline: number, call: () => Promise<T>) => call(),
        workflow: {
          start: async (_workflow: string, options: { workflowId: string }) => {
            starts.push(options);
          },
        },
      } as unknown as Client,
      auth: testAuth,
      orderPolicy: PRODUCTION_POLICY,
      log: { error: () => {}, info: () => {} },
    });
    const retried = await request(back).post('/orders').set(credentialHeaders('service')).send(order);
    expect(retried.status).toBe(202);
    expect(retried.body).toMatchObject({ orderId: order.orderId, status: 'received' });
    expect(starts.map((start) => start.workflowId)).toEqual([orderWorkflowId(order.orderId)]);
    expect(await db.select({ status: orders.status }).from(orders).where(eq(orders.orderId, order.orderId))).toEqual([
      { status: 'received' },
    ]);
  });

  it('answers 503, not 500, when an update call runs out of time as CANCELLED rather than DEADLINE_EXCEEDED', async () => {
    const order = orderRequest();
    const cancelled = Object.assign(new Error('1 CANCELLED: Call cancelled'), { code: 1 });
    const slow = createApp({
      db,
      temporal: {
        withDeadline: <T>(_deadline: number, call: () => Promise<T>) => call(),
        workflow: {
          start: async () => {},
          getHandle: () => ({
            async executeUpdate() {
              throw new WorkflowUpdateRPCTimeoutOrCancelledError('Call cancelled', { cause: cancelled });
            },
          }),
        },
      } as unknown as Client,
      auth: testAuth,
      orderPolicy: PRODUCTION_POLICY,
      log: { error: () => {}, info: () => {} },
    });
    expect((await request(slow).post('/orders').set(credentialHeaders('service')).send(order)).status).toBe(202);
    const response = await request(slow)
      .post(`/orders/${order.orderId}/cancel`)
      .set(credentialHeaders('support'))
      .send({ reason: 'too slow' });
    expect(response.status).toBe(503);
    expect(response.headers['retry-after']).toBe('5');
  });

  it("answers 503, not 500, to what a Temporal server restarting on its database says: namespace not found, an update refused while the workflow's task is in failed state", async () => {
    // Both came from `npm run chaos -- --cluster` (the Go-built server): a start while the server
    // reloaded its namespaces, a cancel right after a worker was killed mid-task.
    const order = orderRequest();
    let starting = true;
    const restarting = createApp({
      db,
      temporal: {
        withDeadline: <T>(_deadline: number, call: () => Promise<T>) => call(),
        workflow: {
          start: async () => {
            if (starting) throw new NamespaceNotFoundError('default');
          },
          getHandle: () => ({
            async executeUpdate() {
              throw new ServiceError('Workflow Update failed', {
                cause: Object.assign(
                  new Error(
                    '9 FAILED_PRECONDITION: Unable to perform workflow execution update due to Workflow Task in failed state.',
                  ),
                  { code: 9 },
                ),
              });
            },
          }),
        },
      } as unknown as Client,
      auth: testAuth,
      orderPolicy: PRODUCTION_POLICY,
      log: { error: () => {}, info: () => {} },
    });
    const refused = await request(restarting).post('/orders').set(credentialHeaders('service')).send(order);
    expect(refused.status).toBe(503);
    expect(refused.headers['retry-after']).toBe('5');
    starting = false;
    expect((await request(restarting).post('/orders').set(credentialHeaders('service')).send(order)).status).toBe(202);
    const cancel = await request(restarting)
      .post(`/orders/${order.orderId}/cancel`)
      .set(credentialHeaders('support'))
      .send({ reason: 'changed my mind' });
    expect(cancel.status).toBe(503);
    expect(cancel.headers['retry-after']).toBe('5');
  });

  it('runs cancel, retry and return updates under an ID from the Idempotency-Key: a retry after a 503 reaches the same update; callers never share one', async () => {
    const order = orderRequest();
    const updates: { name: string; updateId: string | undefined }[] = [];
    let timeouts = 1;
    const app = createApp({
      db,
      temporal: {
        withDeadline: <T>(_deadline: number, call: () => Promise<T>) => call(),
        workflow: {
          start: async () => {},
          getHandle: () => ({
            async executeUpdate(definition: { name: string }, options: { updateId?: string }) {
              updates.push({ name: definition.name, updateId: options.updateId });
              if (timeouts-- > 0) throw new WorkflowUpdateRPCTimeoutOrCancelledError('Deadline exceeded');
              return { orderId: order.orderId };
            },
          }),
        },
      } as unknown as Client,
      auth: testAuth,
      orderPolicy: PRODUCTION_POLICY,
      log: { error: () => {}, info: () => {} },
    });
    const post = (path: string, as: Caller, body: object, key?: string) =>
      request(app)
        .post(`/orders/${order.orderId}/${path}`)
        .set({ ...credentialHeaders(as), ...(key ? { 'idempotency-key': key } : {}) })
        .send(body);
    expect((await request(app).post('/orders').set(credentialHeaders('service')).send(order)).status).toBe(202);

    expect((await post('cancel', 'support', { reason: 'r' }, 'k1')).status).toBe(503);
    const retried = await post('cancel', 'support', { reason: 'r' }, 'k1');
    expect(retried.status).toBe(200);
    expect(retried.headers['idempotent-replayed']).toBeUndefined();
    expect((await post('cancel', 'admin', { reason: 'r' }, 'k1')).status).toBe(200);
    expect((await post('cancel', 'support', { reason: 'r' })).status).toBe(200);
    expect((await post('retry', 'support', {}, 'k1')).status).toBe(200);
    await post('returns', 'support', { items: [{ sku: 'MUG-CERAMIC', quantity: 1 }], reason: 'damaged' }, 'k1');

    const [first, retry, admin, keyless, operatorRetry, ret] = updates;
    expect(updates.map((update) => update.name)).toEqual([
      'cancelOrder',
      'cancelOrder',
      'cancelOrder',
      'cancelOrder',
      'retry',
      'requestReturn',
    ]);
    expect(first!.updateId).toMatch(/^cancelOrder-[0-9a-f]{64}$/);
    expect(retry!.updateId).toBe(first!.updateId);
    expect(admin!.updateId).not.toBe(first!.updateId);
    expect(keyless!.updateId).toBeUndefined();
    expect(operatorRetry!.updateId).toMatch(/^retryOrder-/);
    expect(ret!.updateId).toMatch(/^requestReturn-/);
  });
});

describe('control characters in text', () => {
  const order = {
    orderId: 'control-2',
    customer: { id: 'cust-1', email: 'ada@example.com', name: 'Ada Lovelace' },
    channel: 'web',
    items: [{ sku: 'MUG-CERAMIC', quantity: 1 }],
    shippingAddress: {
      name: 'Ada Lovelace',
      line1: '1 Main St',
      city: 'Seattle',
      region: 'WA',
      postalCode: '98101',
      country: 'US',
    },
    shippingSpeed: 'standard',
    payment: { token: 'tok_visa' },
  };
  const returnRequest = { items: [{ sku: 'MUG-CERAMIC', quantity: 1 }], reason: 'damaged' };
  const adjustment = { warehouseId: 'wh-east', sku: 'MUG-CERAMIC', delta: 1, reason: 'found' };

  it.each([
    [
      'customer name',
      'post',
      '/orders',
      'service',
      { ...order, customer: { ...order.customer, name: 'Ada\u0007' } },
      'customer.name',
    ],
    [
      'an address line',
      'post',
      '/orders',
      'service',
      { ...order, shippingAddress: { ...order.shippingAddress, line1: '1 Main\u001bSt' } },
      'shippingAddress.line1',
    ],
    [
      'a line break in a one-line field',
      'post',
      '/orders',
      'service',
      { ...order, shippingAddress: { ...order.shippingAddress, city: 'Seattle\n' } },
      'shippingAddress.city',
    ],
    [
      'a tab in a one-line field',
      'post',
      '/orders',
      'service',
      { ...order, customer: { ...order.customer, name: 'Ada\tLovelace' } },
      'customer.name',
    ],
    ['the payment token', 'post', '/orders', 'service', { ...order, payment: { token: 'tok\u0000' } }, 'payment.token'],
    [
      'a cancellation reason',
      'post',
      '/orders/control-2/cancel',
      'support',
      { reason: 'changed \u009b mind' },
      'reason',
    ],
    [
      'a return comment',
      'post',
      '/orders/control-2/returns',
      'service',
      { ...returnRequest, comment: 'chipped\u007f' },
      'comment',
    ],
    [
      'an inventory note',
      'post',
      '/inventory/adjustments',
      'warehouse',
      { ...adjustment, note: 'found\u000b' },
      'note',
    ],
    [
      'a warehouse task ID',
      'post',
      '/warehouse/events',
      'warehouse',
      { taskId: 't\u0085', orderId: 'control-2', type: 'pick_completed', at: '2025-01-16T08:00:00.000Z' },
      'taskId',
    ],
    ['a query filter', 'get', '/orders?customerId=cust%07', 'service', undefined, 'customerId'],
    [
      'a path parameter',
      'post',
      '/warehouse/returns/r%1F1/receipt',
      'warehouse',
      { units: [{ sku: 'MUG-CERAMIC', quantity: 1, condition: 'resalable' }] },
      'path',
    ],
    ['an object key', 'post', '/orders/control-2/cancel', 'support', { reason: 'x', 'by\u0000': 'me' }, 'by\u0000'],
  ] as const)(
    'refuses %s with a 400 naming the field, and starts or signals nothing',
    async (_name, method, path, as, body, field) => {
      const response = await call(method, path, as, body);
      expect(response.status).toBe(400);
      expect(response.body.errors).toContainEqual({ field, message: expect.stringMatching(/control characters/) });
      expect(signals).toEqual([]);
    },
  );

  it('allows tab and line breaks in comments and notes, and any printable text in names', async () => {
    // Past validation: the order does not exist (404), the adjustment applies (201).
    const comment = await call('post', '/orders/no-such-order/returns', 'service', {
      ...returnRequest,
      comment: 'arrived chipped:\n\t- the handle\r\n\t- the rim',
    });
    expect(comment.status).toBe(404);
    const sku = await isolatedProduct(db, { 'wh-east': 0 });
    const note = await call(
      'post',
      '/inventory/adjustments',
      'warehouse',
      { ...adjustment, sku, note: 'shelf B3\nbehind the boxes' },
      { 'idempotency-key': 'control-note' },
    );
    expect(note.status).toBe(201);
    const name = await call('post', '/orders/no-such-order/cancel', 'support', { reason: 'Zoë Ñúñez – 東京 🚚 asked' });
    expect(name.status).toBe(404);
  });

  it('states the rule in the OpenAPI document: every string in a body, query or path has a pattern, an enum or a format', async () => {
    const document = (await request(app).get('/openapi.json')).body;
    type Schema = {
      $ref?: string;
      type?: string | string[];
      pattern?: string;
      enum?: unknown[];
      format?: string;
      properties?: Record<string, Schema>;
      items?: Schema;
      anyOf?: Schema[];
    };
    const unruled: string[] = [];
    const patterns = new Set<string>();
    const walk = (schema: Schema | undefined, where: string): void => {
      if (!schema) return;
      if (schema.$ref) return walk(document.components.schemas[schema.$ref.split('/').pop()!], where);
      if ([schema.type].flat().includes('string')) {
        if (schema.pattern) patterns.add(schema.pattern);
        else if (!schema.enum && !schema.format) unruled.push(where);
      }
      for (const [key, property] of Object.entries(schema.properties ?? {})) walk(property, `${where}.${key}`);
      walk(schema.items, `${where}[]`);
      for (const option of schema.anyOf ?? []) walk(option, where);
    };
    for (const [path, item] of Object.entries(
      document.paths as Record<
        string,
        Record<
          string,
          {
            parameters?: { in: string; name: string; schema: Schema }[];
            requestBody?: { content: Record<string, { schema: Schema }> };
          }
        >
      >,
    )) {
      for (const [method, operation] of Object.entries(item)) {
        // Headers are HTTP's to settle (api/contract.ts, IdempotencyKeyHeader).
        for (const parameter of (operation.parameters ?? []).filter((p) => p.in !== 'header'))
          walk(parameter.schema, `${method.toUpperCase()} ${path} ${parameter.in} ${parameter.name}`);
        walk(operation.requestBody?.content['application/json']?.schema, `${method.toUpperCase()} ${path} body`);
      }
    }
    expect(unruled).toEqual([]);
    for (const pattern of patterns) {
      const regex = new RegExp(pattern);
      for (const control of ['\u0000', '\u0007', '\u001f', '\u007f', '\u0085', '\u009f'])
        expect(regex.test(`a${control}b`), `${pattern} ${JSON.stringify(control)}`).toBe(false);
    }
  });
});

describe('the OpenAPI document', () => {
  it('lists every route the app serves, and serves every operation it lists', async () => {
    const document = (await request(app).get('/openapi.json')).body;
    expect(document.openapi).toBe('3.1.0');
    const documented = new Set(
      Object.entries(document.paths as Record<string, object>).flatMap(([path, item]) =>
        Object.keys(item).map((method) => `${method.toUpperCase()} ${path}`),
      ),
    );
    const served = routesOf(app);
    expect(served.length).toBeGreaterThan(10);
    expect(
      served.filter((route) => !documented.has(route)),
      'routes missing from /openapi.json',
    ).toEqual([]);
    expect(
      [...documented].filter((route) => !served.includes(route)),
      'documented operations nothing serves',
    ).toEqual([]);
  });

  it('describes each operation with its credential, roles, parameters, every answer and examples', async () => {
    const document = (await request(app).get('/openapi.json')).body;
    for (const [path, item] of Object.entries(
      document.paths as Record<string, Record<string, Record<string, never>>>,
    )) {
      for (const [method, operation] of Object.entries(item)) {
        const name = `${method.toUpperCase()} ${path}`;
        const op = operation as unknown as {
          security: object[];
          'x-roles': string[];
          responses: Record<
            string,
            { content?: Record<string, { example?: unknown; examples?: Record<string, unknown>; schema?: unknown }> }
          >;
          requestBody?: { content: Record<string, { example?: unknown }> };
        };
        expect(op.security, name).toBeDefined();
        const statuses = Object.keys(op.responses);
        if (op.security.length > 0) expect(statuses, name).toContain('401');
        if (op['x-roles'].length > 0) expect(statuses, name).toContain('403');
        if (op.requestBody) {
          expect(op.requestBody.content['application/json']?.example, `${name} request example`).toBeDefined();
          expect(statuses, name).toEqual(expect.arrayContaining(['400', '413', '415']));
        }
        for (const [status, response] of Object.entries(op.responses)) {
          const media = Object.values(response.content ?? {})[0];
          if (Number(status) >= 400)
            expect(
              media?.example ?? Object.values(media?.examples ?? {})[0],
              `${name} ${status} example`,
            ).toBeDefined();
        }
      }
    }
    expect(Object.keys(document.components.schemas)).toEqual(
      expect.arrayContaining(['Problem', 'OrderView', 'CreateOrderRequest', 'ReturnView']),
    );
    expect(document.components.schemas.OrderView.example).toBeDefined();
  });

  it('serves interactive docs from the installed Swagger UI, with a tight content policy', async () => {
    const page = await request(app).get('/docs');
    expect(page.status).toBe(200);
    expect(page.headers['content-type']).toContain('text/html');
    expect(page.text).toContain('/docs/swagger-ui-bundle.js');
    expect(page.headers['content-security-policy']).toContain("script-src 'self'");
    const bundle = await request(app).get('/docs/swagger-ui-bundle.js');
    expect(bundle.status).toBe(200);
    expect(bundle.headers['content-type']).toContain('javascript');
    expect((await request(app).get('/docs/init.js')).text).toContain("url: '/openapi.json'");
    expect((await request(app).get('/docs/swagger-initializer.js')).status).toBe(404);
  });
});

/** `METHOD /path/{param}` for every route mounted on the app, read from Express's router. */
function routesOf(application: Express): string[] {
  type Layer = { route?: { path: string; methods: Record<string, boolean> }; handle?: { stack?: Layer[] } };
  const out: string[] = [];
  const walk = (stack: Layer[]) => {
    for (const layer of stack) {
      if (layer.route) {
        for (const method of Object.keys(layer.route.methods))
          out.push(`${method.toUpperCase()} ${layer.route.path.replace(/:(\w+)/g, '{$1}')}`);
      } else if (layer.handle?.stack) {
        walk(layer.handle.stack);
      }
    }
  };
  walk((application as unknown as { router: { stack: Layer[] } }).router.stack);
  return [...new Set(out)].filter((route) => !route.startsWith('GET /docs/'));
}
