import { signWebhook } from '../platform/credentials.js';

/**
 * Bad input under load: while `npm run chaos` drives its orders, a hostile client sends malformed
 * and unauthorized requests. Each must get a 4xx; the run checks afterwards that none started a
 * workflow or left a row (every order ID here starts with `fuzz-`).
 */
export interface FuzzCase {
  name: string;
  method: string;
  path: string;
  headers: Record<string, string>;
  body?: string | Buffer;
}

export interface FuzzKeys {
  admin: string;
  warehouse: string;
  service: string;
  carrierSecret: string;
}

function order(overrides: Record<string, unknown> = {}) {
  return {
    orderId: `fuzz-${Math.random().toString(36).slice(2, 10)}`,
    customer: { id: 'fuzz-customer', email: 'fuzz@example.com', name: 'Fuzz' },
    channel: 'web',
    items: [{ sku: 'MUG-CERAMIC', quantity: 1 }],
    shippingAddress: {
      name: 'Fuzz',
      line1: '1 Main St',
      city: 'Somewhere',
      region: 'NY',
      postalCode: '00000',
      country: 'US',
    },
    shippingSpeed: 'standard',
    payment: { token: 'tok_visa' },
    ...overrides,
  };
}

export function fuzzCases(keys: FuzzKeys): FuzzCase[] {
  const json = { 'content-type': 'application/json' };
  const as = (key: string) => ({ ...json, authorization: `Bearer ${key}` });
  const scan = JSON.stringify({
    trackingNumber: 'PP000000000000000000',
    type: 'delivered',
    at: new Date().toISOString(),
  });
  return [
    {
      name: 'wrong types',
      method: 'POST',
      path: '/orders',
      headers: as(keys.service),
      body: JSON.stringify(order({ items: [{ sku: 'MUG-CERAMIC', quantity: 'two' }] })),
    },
    {
      name: 'missing fields',
      method: 'POST',
      path: '/orders',
      headers: as(keys.service),
      body: JSON.stringify({ orderId: 'fuzz-missing' }),
    },
    {
      name: 'extra field (price from the caller)',
      method: 'POST',
      path: '/orders',
      headers: as(keys.service),
      body: JSON.stringify(order({ total: 1 })),
    },
    {
      name: '5 MB body',
      method: 'POST',
      path: '/orders',
      headers: as(keys.service),
      body: JSON.stringify(
        order({ customer: { id: 'fuzz-c', email: 'f@example.com', name: 'x'.repeat(5 * 1024 * 1024) } }),
      ),
    },
    {
      name: 'invalid UTF-8',
      method: 'POST',
      path: '/orders',
      headers: as(keys.service),
      // Invalid bytes inside the order ID.
      body: Buffer.concat([
        Buffer.from('{"orderId":"fuzz-'),
        Buffer.from([0xc3, 0x28, 0xff]),
        Buffer.from(JSON.stringify(order()).replace(/^\{"orderId":"fuzz-/, '')),
      ]),
    },
    {
      name: 'SQL injection in the order ID',
      method: 'POST',
      path: '/orders',
      headers: as(keys.service),
      body: JSON.stringify(order({ orderId: "fuzz-1'; drop table orders;--" })),
    },
    {
      name: 'SQL injection in a sku',
      method: 'POST',
      path: '/orders',
      headers: as(keys.service),
      body: JSON.stringify(order({ items: [{ sku: "MUG' OR '1'='1", quantity: 1 }] })),
    },
    { name: 'not JSON', method: 'POST', path: '/orders', headers: as(keys.service), body: '{"orderId": ' },
    { name: 'no key', method: 'POST', path: '/orders', headers: json, body: JSON.stringify(order()) },
    {
      name: 'wrong key',
      method: 'POST',
      path: '/orders',
      headers: as('not-a-key-0123456789abcdef'),
      body: JSON.stringify(order()),
    },
    {
      name: 'warehouse key places an order',
      method: 'POST',
      path: '/orders',
      headers: as(keys.warehouse),
      body: JSON.stringify(order()),
    },
    {
      name: 'service key retries an order',
      method: 'POST',
      path: '/orders/fuzz-nothing/retry',
      headers: as(keys.service),
      body: '{}',
    },
    {
      name: 'unsigned carrier webhook',
      method: 'POST',
      path: '/carriers/parcelpost/events',
      headers: json,
      body: scan,
    },
    {
      name: 'stale carrier webhook',
      method: 'POST',
      path: '/carriers/parcelpost/events',
      headers: { ...json, ...signWebhook(keys.carrierSecret, scan, new Date(Date.now() - 10 * 60_000)) },
      body: scan,
    },
    {
      name: 'carrier webhook signed with another secret',
      method: 'POST',
      path: '/carriers/parcelpost/events',
      headers: { ...json, ...signWebhook('another-secret-0123456789abcdef0123456789', scan) },
      body: scan,
    },
    { name: 'path traversal', method: 'GET', path: '/orders/..%2F..%2Fetc%2Fpasswd', headers: as(keys.service) },
  ];
}

export interface FuzzResult {
  sent: number;
  byStatus: Map<string, number>;
  /** Cases answered with something other than a 4xx. */
  wrong: string[];
}

/**
 * Sends one case after another, round robin, every `gapMs`, until `signal` aborts; while `active()`
 * says no it holds back, so good traffic can be timed with and without it.
 */
export async function runFuzzer(
  baseUrl: string,
  keys: FuzzKeys,
  signal: AbortSignal,
  { gapMs = 700, active = () => true }: { gapMs?: number; active?: () => boolean } = {},
): Promise<FuzzResult> {
  const result: FuzzResult = { sent: 0, byStatus: new Map(), wrong: [] };
  for (let i = 0; !signal.aborted; i += 1) {
    if (!active()) {
      await new Promise((resolve) => setTimeout(resolve, gapMs));
      continue;
    }
    const cases = fuzzCases(keys);
    const sent = cases[i % cases.length]!;
    let label: string;
    try {
      const response = await fetch(`${baseUrl}${sent.path}`, {
        method: sent.method,
        headers: sent.headers,
        body: sent.body,
        signal: AbortSignal.timeout(30_000),
      });
      await response.arrayBuffer();
      label = String(response.status);
      // An outage answers 503 to everyone; that is not the fuzz case's fault.
      if ((response.status < 400 || response.status >= 500) && response.status !== 503)
        result.wrong.push(`${sent.name}: ${response.status}`);
    } catch {
      label = 'no answer';
    }
    result.sent += 1;
    result.byStatus.set(label, (result.byStatus.get(label) ?? 0) + 1);
    await new Promise((resolve) => setTimeout(resolve, gapMs));
  }
  return result;
}
