import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { config } from '../config/index.js';
import { createDatabase } from '../db/client.js';
import { deleteOrderHistory, loadOrderHistory } from '../db/order-history.js';
import { DEMO_PRODUCTS } from '../db/seed.js';
import type { Channel, CreateOrderRequest, ShippingSpeed } from '../domain/schemas.js';
import { progressBar } from './progress.js';

/**
 * `npm run demo:load` (after `npm start`): 30 days of order history for the dashboard, in two parts.
 *
 * 1. History: a workflow cannot be started in the past, so past orders go in through the
 *    documented seeding path (db/order-history.ts): the rows the workflow's activities write
 *    (read model, timeline, shipments, returns, payment ledger), every timestamp in the past,
 *    only orders whose lives are over (a 3-day return window lets recent ones finish).
 * 2. Today, live: orders placed through the real API (`POST /orders`), which run their workflows
 *    as any order does; some declined (`tok_decline`), some cancelled in the free buffer
 *    (`POST /orders/{id}/cancel`). Skipped when the API does not answer.
 *
 *   npm run demo:load                         # 3000 past orders, 24 live ones
 *   npm run demo:load -- --orders 10000 --live 50 --days 30 --reset
 *
 * Reads DATABASE_URL, else `npm start`'s embedded Postgres; the API at http://127.0.0.1:$PORT with
 * the service key from .data/api-keys.json (or API_KEY).
 */
const { values: args } = parseArgs({
  options: {
    orders: { type: 'string', default: '3000' },
    live: { type: 'string', default: '24' },
    days: { type: 'string', default: '30' },
    reset: { type: 'boolean', default: false },
  },
});
const settings = config();
const root = fileURLToPath(new URL('../', import.meta.url));
/** scripts/start.ts's embedded Postgres. */
const START_DATABASE_URL = 'postgres://postgres:postgres@127.0.0.1:54329/orders';
const api = `http://127.0.0.1:${settings.PORT}`;
/** The history's shop policy: returns are accepted for 3 days after delivery. */
const HISTORY_RETURN_WINDOW_DAYS = 3;

function localKey(role: 'service' | 'support'): string | undefined {
  if (process.env.API_KEY) return process.env.API_KEY;
  const file = `${root}.data/api-keys.json`;
  if (!existsSync(file)) return undefined;
  return (JSON.parse(readFileSync(file, 'utf8')) as { keys: Record<string, string> }).keys[role];
}

async function loadHistory(): Promise<void> {
  const db = createDatabase(settings.DATABASE_URL ?? START_DATABASE_URL, { max: 2 });
  try {
    if (args.reset) await deleteOrderHistory(db);
    const now = new Date();
    const from = new Date(now.getTime() - Number(args.days) * 86_400_000);
    // Only orders whose lives are over: the worker's reconciler would take an open order without a
    // workflow for an orphan. A short return window lets recent orders finish; today's open
    // orders are the live ones below.
    const written = await loadOrderHistory(db, {
      orders: Number(args.orders),
      from,
      to: now,
      now,
      prefix: 'hist',
      batchSize: 250,
      returnWindowDays: HISTORY_RETURN_WINDOW_DAYS,
      finalOnly: true,
      progress: progressBar('history   '),
    });
    process.stdout.write(
      `history: ${written} finished orders placed over the last ${args.days} days, of ${args.orders} simulated (the rest are still under way, so not written); ids hist-…, kept on a rerun, --reset replaces them\n`,
    );
  } finally {
    await db.close();
  }
}

async function placeLiveOrders(count: number): Promise<void> {
  const key = localKey('service');
  const reachable = await fetch(`${api}/healthz`).then(
    (response) => response.ok,
    () => false,
  );
  if (!key || !reachable) {
    process.stdout.write(
      `live: skipped (${!reachable ? `no API at ${api}: run npm start` : 'no service key: set API_KEY'})\n`,
    );
    return;
  }
  const channels: Channel[] = ['web', 'web', 'web', 'marketplace', 'social', 'phone'];
  const speeds: ShippingSpeed[] = ['standard', 'standard', 'expedited', 'overnight'];
  const stamp = Date.now().toString(36);
  const bar = progressBar('live      ');
  const outcomes = { placed: 0, declined: 0, cancelled: 0, refused: 0 };
  for (let i = 0; i < count; i += 1) {
    const orderId = `live-${stamp}-${i + 1}`;
    const product = DEMO_PRODUCTS[i % DEMO_PRODUCTS.length]!;
    const declined = i % 8 === 5;
    const body: CreateOrderRequest = {
      orderId,
      customer: { id: `cust-live-${i % 7}`, email: `live${i % 7}@example.com`, name: `Live customer ${i % 7}` },
      channel: channels[i % channels.length]!,
      items: [{ sku: product.sku, quantity: 1 + (i % 2) }],
      shippingAddress: {
        name: 'Live customer',
        line1: '1 Main St',
        city: 'Boston',
        region: 'MA',
        postalCode: '02108',
        country: 'US',
      },
      shippingSpeed: speeds[i % speeds.length]!,
      payment: { token: declined ? 'tok_decline' : 'tok_visa' },
    };
    const response = await fetch(`${api}/orders`, {
      method: 'POST',
      headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
    await response.text();
    if (response.status === 202) outcomes.placed += 1;
    else outcomes.refused += 1;
    if (declined) outcomes.declined += 1;
    // Some customers change their mind inside the free-cancel buffer.
    if (response.status === 202 && i % 6 === 2) {
      const cancel = await fetch(`${api}/orders/${orderId}/cancel`, {
        method: 'POST',
        headers: {
          authorization: `Bearer ${key}`,
          'content-type': 'application/json',
          'idempotency-key': `demo-cancel-${orderId}`,
        },
        body: JSON.stringify({ reason: 'customer changed their mind' }),
      });
      await cancel.text();
      if (cancel.status === 200) outcomes.cancelled += 1;
    }
    bar(i + 1, count);
  }
  process.stdout.write(
    `live: ${outcomes.placed} orders placed through POST /orders (${outcomes.declined} with a declining card, ${outcomes.cancelled} cancelled in the buffer${outcomes.refused ? `, ${outcomes.refused} refused` : ''}); their workflows run on\n`,
  );
}

async function main(): Promise<void> {
  await loadHistory();
  await placeLiveOrders(Number(args.live));
  const support = localKey('support');
  process.stdout.write(
    `\nOpen ${api}/dashboard and sign in with a support or admin key${support && !process.env.API_KEY ? ` (support: ${support})` : ''}.\n`,
  );
}

main().catch((error) => {
  process.stderr.write(`demo:load failed: ${error instanceof Error ? error.message.slice(0, 800) : String(error)}\n`);
  process.exit(1);
});
