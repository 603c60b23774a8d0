import proto from '@temporalio/proto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { orderWorkflowId } from '../domain/ids.js';
import type { OrderPolicy } from '../domain/order.js';
import { ENCRYPTED_ENCODING } from '../platform/payload-codec.js';
import { TEST_KEYS, TEST_WEB_ORIGIN } from './support/credentials.js';
import { isolatedProduct } from './support/database.js';
import { newOrderId, orderRequest, PRODUCTION_POLICY } from './support/orders.js';
import { startSystem, type System } from './support/system.js';

// CommonJS: its namespace is a property of the default export under Node's ESM loader.
const { temporal } = proto;

/**
 * Customer data stays out of Temporal: an order placed through the API runs to delivery with every
 * payload encrypted by the client's and the worker's codec, so its history read raw from the
 * Temporal API (no codec) holds neither the customer's e-mail, name nor street; Temporal Web's
 * codec endpoint decrypts the same payloads for support and admins, and for nobody else.
 */
let system: System;

const policy: OrderPolicy = { ...PRODUCTION_POLICY, cancellationBuffer: '1s', returnWindow: '1m' };

beforeAll(async () => {
  system = await startSystem({ policy });
});

afterAll(async () => {
  await system?.stop();
});

interface JsonPayload {
  metadata?: Record<string, string>;
  data?: string;
}

/** The order's whole history as the server stores it, read without any codec. */
async function rawHistory(workflowId: string): Promise<proto.temporal.api.history.v1.IHistoryEvent[]> {
  const events: proto.temporal.api.history.v1.IHistoryEvent[] = [];
  let nextPageToken: Uint8Array | undefined;
  do {
    const page = await system.env.connection.workflowService.getWorkflowExecutionHistory({
      namespace: system.env.namespace ?? 'default',
      execution: { workflowId },
      nextPageToken,
    });
    events.push(...(page.history?.events ?? []));
    nextPageToken = page.nextPageToken?.length ? page.nextPageToken : undefined;
  } while (nextPageToken);
  return events;
}

/** Where in the events each payload found was (by its index), for a failure message. */
const paths = new Map<number, string>();

/** Every payload anywhere in the events (inputs, results, signals, updates, memos, failures), as Temporal Web sends them. */
function payloadsIn(value: unknown, found: JsonPayload[] = [], path = ''): JsonPayload[] {
  if (isPayload(value)) {
    paths.set(found.length, path);
    found.push({
      metadata: Object.fromEntries(
        Object.entries(value.metadata ?? {}).map(([k, v]) => [k, Buffer.from(v).toString('base64')]),
      ),
      data: Buffer.from(value.data ?? []).toString('base64'),
    });
  } else if (Array.isArray(value)) {
    for (const [index, item] of value.entries()) payloadsIn(item, found, `${path}[${index}]`);
  } else if (value && typeof value === 'object' && !(value instanceof Uint8Array)) {
    for (const [key, item] of Object.entries(value)) payloadsIn(item, found, `${path}.${key}`);
  }
  return found;
}

/** A decoded `temporal.api.common.v1.Payload`: metadata by key, and bytes. */
function isPayload(value: unknown): value is proto.temporal.api.common.v1.IPayload {
  if (!value || typeof value !== 'object') return false;
  const { metadata, data } = value as { metadata?: unknown; data?: unknown };
  return (
    data instanceof Uint8Array &&
    !!metadata &&
    typeof metadata === 'object' &&
    Object.values(metadata).every((v) => v instanceof Uint8Array) &&
    Object.keys(metadata).length > 0
  );
}

const decodedText = (payloads: JsonPayload[]) =>
  payloads.map((payload) => Buffer.from(payload.data ?? '', 'base64').toString('utf8')).join('\n');

describe('customer data in Temporal histories', () => {
  const suffix = newOrderId('pii');
  const customer = {
    id: 'cust-encrypted',
    email: `augusta.${suffix}@example.com`,
    name: `Augusta Byron ${suffix}`,
  };
  const street = `${suffix} Analytical Engine Row`;
  let payloads: JsonPayload[];

  it('are encrypted: the raw history of a delivered order holds no e-mail, name or street', async () => {
    const sku = await isolatedProduct(system.db, { 'wh-east': 5 }, 1250);
    const request = orderRequest({
      items: [{ sku, quantity: 1 }],
      customer,
      shippingAddress: { ...orderRequest().shippingAddress, name: customer.name, line1: street },
    });
    expect((await system.api('POST', '/orders', request, { as: 'service' })).status).toBe(202);
    await system.waitForOrder(request.orderId, (status) => status === 'delivered', 60_000);

    const events = await rawHistory(orderWorkflowId(request.orderId));
    expect(events.length).toBeGreaterThan(20);
    // Every byte the server keeps for this run, payloads and all.
    const stored = Buffer.from(temporal.api.history.v1.History.encode({ events }).finish()).toString('latin1');
    for (const secret of [customer.email, customer.name, street, suffix]) expect(stored).not.toContain(secret);

    payloads = payloadsIn(events);
    expect(payloads.length).toBeGreaterThan(20);
    // What Temporal itself reads stays in clear and holds no personal data: search attributes (for
    // filtering), the trace context in headers, the patch markers' IDs, a local activity marker's
    // `data` (the SDK core's own record: activity ID, type, attempt, times; its `result` is sealed).
    // Every other payload is sealed.
    const clear = payloads
      .map((p, index) => ({
        encoding: Buffer.from(p.metadata?.encoding ?? '', 'base64').toString(),
        at: paths.get(index)!,
      }))
      .filter(({ encoding }) => encoding !== ENCRYPTED_ENCODING);
    const sdkOwn =
      /\.searchAttributes\.indexedFields\.|\.header\.fields\._tracer-data$|\.details\.patch-data\.|markerRecordedEventAttributes\.details\.data\./;
    expect(clear.filter(({ at }) => !sdkOwn.test(at))).toEqual([]);
    expect(clear.length).toBeLessThan(payloads.length / 2);
    // The read model (Postgres, not Temporal) still has the customer: the API shows the order as before.
    const view = await system.api('GET', `/orders/${request.orderId}`, undefined, { as: 'support' });
    expect(JSON.stringify(view.body)).toContain(customer.email);
  });

  it('decode through the codec endpoint for support and admins', async () => {
    for (const as of ['support', 'admin'] as const) {
      // As Temporal Web asks: a few payloads at a time (the endpoint takes at most 100 per request).
      const decoded: JsonPayload[] = [];
      for (let start = 0; start < payloads.length; start += 50) {
        const answer = await system.api(
          'POST',
          '/codec/decode',
          { payloads: payloads.slice(start, start + 50) },
          { as, headers: { 'x-namespace': system.env.namespace ?? 'default' } },
        );
        expect(answer.status).toBe(200);
        decoded.push(...(answer.body.payloads as JsonPayload[]));
      }
      expect(decoded).toHaveLength(payloads.length);
      const answer = { body: { payloads: decoded } };
      const text = decodedText(answer.body.payloads);
      for (const secret of [customer.email, customer.name, street]) expect(text).toContain(secret);
      const encodings = answer.body.payloads.map((p: JsonPayload) =>
        Buffer.from(p.metadata?.encoding ?? '', 'base64').toString(),
      );
      expect(encodings).not.toContain(ENCRYPTED_ENCODING);
    }
  });

  it('decode nothing for other roles (403) or without a credential (401)', async () => {
    for (const as of ['service', 'warehouse', 'monitoring'] as const) {
      const answer = await system.api('POST', '/codec/decode', { payloads: payloads.slice(0, 50) }, { as });
      expect(answer.status).toBe(403);
      expect(JSON.stringify(answer.body)).not.toContain(customer.email);
    }
    const anonymous = await system.api(
      'POST',
      '/codec/decode',
      { payloads: payloads.slice(0, 50) },
      { as: 'anonymous' },
    );
    expect(anonymous.status).toBe(401);
    expect(JSON.stringify(anonymous.body)).not.toContain(customer.email);
  });

  it('encode what an operator sends from Temporal Web, and decode it back', async () => {
    const plain = {
      metadata: { encoding: Buffer.from('json/plain').toString('base64') },
      data: Buffer.from(JSON.stringify(customer)).toString('base64'),
    };
    const encoded = await system.api('POST', '/codec/encode', { payloads: [plain] }, { as: 'support' });
    expect(encoded.status).toBe(200);
    expect(decodedText(encoded.body.payloads)).not.toContain(customer.email);
    const decoded = await system.api('POST', '/codec/decode', encoded.body, { as: 'support' });
    expect(decoded.body.payloads).toEqual([plain]);
  });

  it('answers a payload it cannot decrypt with a problem naming the field or the key, never in clear', async () => {
    const unknownKey = {
      ...payloads[0]!,
      metadata: { ...payloads[0]!.metadata, 'encryption-key-id': Buffer.from('retired-2019').toString('base64') },
    };
    const missing = await system.api('POST', '/codec/decode', { payloads: [unknownKey] }, { as: 'support' });
    expect(missing.status).toBe(422);
    expect(missing.body.detail).toContain('"retired-2019"');
    const bytes = Buffer.from(payloads[0]!.data!, 'base64');
    bytes[bytes.length - 1] = bytes[bytes.length - 1]! ^ 1;
    const tampered = await system.api(
      'POST',
      '/codec/decode',
      { payloads: [{ ...payloads[0]!, data: bytes.toString('base64') }] },
      { as: 'support' },
    );
    expect(tampered.status).toBe(400);
    expect(tampered.body.errors).toEqual([
      { field: 'payloads', message: expect.stringContaining('failed authentication') },
    ]);
    const notBase64 = await system.api(
      'POST',
      '/codec/decode',
      { payloads: [{ data: 'not base64!' }] },
      { as: 'support' },
    );
    expect(notBase64.status).toBe(400);
    expect(notBase64.body.errors[0].field).toBe('payloads[0].data');
  });

  it('lets Temporal Web call it across origins: the preflight allows the Authorization header', async () => {
    const preflight = await fetch(`${system.baseUrl}/codec/decode`, {
      method: 'OPTIONS',
      headers: {
        origin: TEST_WEB_ORIGIN,
        'access-control-request-method': 'POST',
        'access-control-request-headers': 'authorization,content-type,x-namespace',
      },
    });
    expect(preflight.status).toBe(204);
    expect(preflight.headers.get('access-control-allow-origin')).toBe(TEST_WEB_ORIGIN);
    expect(preflight.headers.get('access-control-allow-headers')).toMatch(/authorization/i);
    expect(preflight.headers.get('access-control-allow-credentials')).toBe('true');
    const decoded = await fetch(`${system.baseUrl}/codec/decode`, {
      method: 'POST',
      headers: {
        origin: TEST_WEB_ORIGIN,
        authorization: `Bearer ${TEST_KEYS.support}`,
        'content-type': 'application/json',
      },
      body: JSON.stringify({ payloads: payloads.slice(0, 1) }),
    });
    expect(decoded.status).toBe(200);
    expect(decoded.headers.get('access-control-allow-origin')).toBe(TEST_WEB_ORIGIN);
    // A 401 is readable by Temporal Web too, so it can say why.
    const refused = await fetch(`${system.baseUrl}/codec/decode`, {
      method: 'POST',
      headers: { origin: TEST_WEB_ORIGIN, 'content-type': 'application/json' },
      body: JSON.stringify({ payloads: [] }),
    });
    expect(refused.status).toBe(401);
    expect(refused.headers.get('access-control-allow-origin')).toBe(TEST_WEB_ORIGIN);
    const stranger = await fetch(`${system.baseUrl}/codec/decode`, {
      method: 'OPTIONS',
      headers: { origin: 'https://evil.example', 'access-control-request-method': 'POST' },
    });
    expect(stranger.headers.get('access-control-allow-origin')).toBeNull();
  });
});
