import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import type { Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { DefaultLogger, Runtime } from '@temporalio/worker';
import { and, eq, like, sql } from 'drizzle-orm';
import { createApp } from '../api/app.js';
import { parseApiKeys } from '../platform/credentials.js';
import { createDatabase } from '../db/client.js';
import { payments } from '../db/schema.js';
import { startEmbeddedPostgres } from '../db/embedded.js';
import { checkInvariants } from '../db/invariants.js';
import { migrateDatabase } from '../db/migrate.js';
import { seedDemoData } from '../db/seed.js';
import { waveStats } from '../db/waves.js';
import type { OrderPolicy } from '../domain/order.js';
import { type OrderPriority, orderPriorities } from '../domain/priority.js';
import { ORDER_SEARCH_ATTRIBUTES } from '../domain/search-attributes.js';
import { FINAL_STATUSES } from '../domain/statuses.js';
import { runDeliveryLoop } from '../simulators/deliveries.js';
import { createOrderWorker, simulatedParties } from '../workers/create-worker.js';
import { SAMPLE_PLACES } from './sample-addresses.js';
import { devServerDynamicConfigArgs, executable, temporalCliPath } from './tools.js';

/**
 * `npm run bench`: how fast the whole system takes orders and carries them to the end, on this
 * machine. A real Postgres and a Temporal dev server, one worker, the API on a local port, the
 * simulated parties answering at once. Prints numbers; asserts nothing.
 *
 * One order in ten ships overnight (urgent), two expedited (high): the worker runs
 * `BENCH_ACTIVITY_SLOTS` activities at once (default 8, as a busy worker would have free), so a
 * backlog forms in the task queue and Temporal's priority decides whose work goes first; the time
 * from capture to pick start (and from receipt to pick start) is reported per priority.
 *
 *   BENCH_ORDERS=300 BENCH_CONCURRENCY=30 BENCH_ACTIVITY_SLOTS=8 npm run bench
 */
const ORDERS = Number(process.env.BENCH_ORDERS ?? 200);
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 20);
const ACTIVITY_SLOTS = Number(process.env.BENCH_ACTIVITY_SLOTS ?? 8);
const policy: OrderPolicy = {
  cancellationBuffer: '1s',
  returnWindow: '1s',
  warehouseTaskSla: '5m',
  warehouseTaskAttempts: 3,
  deliveryGrace: '2d',
  backorderPolicy: 'reject',
  backorderWait: '1h',
  backorderRetryInterval: '5m',
  deliveryExceptionWait: '3d',
  deliveryExceptionPolicy: 'reship',
  returnShippingWindow: '14d',
  feedbackDelay: '1d',
};

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? NaN;
}

function line(label: string, value: string): void {
  process.stdout.write(`${label.padEnd(38)} ${value}\n`);
}

async function main(): Promise<void> {
  Runtime.install({ logger: new DefaultLogger('ERROR') });
  const dataDir = mkdtempSync(join(tmpdir(), 'orders-bench-'));
  const postgres = process.env.DATABASE_URL
    ? null
    : await startEmbeddedPostgres({ dataDir, port: 54339, database: 'orders_bench', persistent: false });
  const db = createDatabase(process.env.DATABASE_URL ?? postgres!.url, { max: 20 });
  await migrateDatabase(db);
  await seedDemoData(db);
  const cli = temporalCliPath();
  const env = await TestWorkflowEnvironment.createLocal({
    server: {
      ...(cli ? { executable: executable(cli) } : {}),
      searchAttributes: ORDER_SEARCH_ATTRIBUTES,
      extraArgs: devServerDynamicConfigArgs(),
    },
  });

  const key = randomBytes(24).toString('hex');
  const warehouseKey = randomBytes(24).toString('hex');
  const secret = randomBytes(32).toString('hex');
  const auth = {
    apiKeys: parseApiKeys(`bench=${key}:admin,bench-wms=${warehouseKey}:warehouse`),
    carrierWebhookSecret: secret,
  };
  const app = createApp({
    db,
    temporal: env.client,
    auth,
    orderPolicy: policy,
    log: { error: (e, m) => console.error(m, e), info: () => {} },
  });
  const server = await new Promise<Server>((resolve) => {
    const listening = app.listen(0, '127.0.0.1', () => resolve(listening));
  });
  const baseUrl = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
  // When the warehouse was first asked to pick each order (the pick's start), by the real simulator behind it.
  const pickStartedAt = new Map<string, number>();
  const parties = simulatedParties(db, 0, () => {});
  const worker = await createOrderWorker({
    connection: env.nativeConnection,
    namespace: 'default',
    deps: {
      db,
      ...parties,
      warehouse: {
        ...parties.warehouse,
        async requestPick(task) {
          if (!pickStartedAt.has(task.orderId)) pickStartedAt.set(task.orderId, Date.now());
          return parties.warehouse.requestPick(task);
        },
      },
    },
    maxConcurrentActivityTaskExecutions: ACTIVITY_SLOTS,
  });
  const running = worker.run();
  const stop = new AbortController();
  const deliveries = runDeliveryLoop(
    db,
    { baseUrl, apiKey: warehouseKey, carrierWebhookSecret: secret },
    stop.signal,
    () => {},
  );

  // Enough stock that no order is rejected: the bench measures flow, not scarcity. Only where a sku
  // is carried at all, so the skus one warehouse carries (db/seed.ts) still split an order.
  await db.execute(sql`insert into stock_movements (idempotency_key, warehouse_id, sku, kind, on_hand_delta, reserved_delta, reason)
    select 'bench:' || warehouse_id || ':' || sku || ':' || ${dataDir}, warehouse_id, sku, 'restock', 100000, 0, 'bench' from stock where on_hand > 0`);
  await db.execute(sql`update stock set on_hand = on_hand + 100000 where on_hand > 0`);

  const runId = Date.now().toString(36);
  const skus = ['MUG-CERAMIC', 'BOOK-TEMPORAL', 'TSHIRT-ORG-M', 'CHARGER-65W', 'BOTTLE-STEEL'];
  const ids = Array.from({ length: ORDERS }, (_, i) => `bench-${runId}-${i}`);
  const latencies: number[] = [];
  const accepted = new Map<string, number>();
  const priorityOf = new Map<string, OrderPriority>();
  /** Wall clock, like the ledger's capture times and the pick starts. */
  const acceptedAt = new Map<string, number>();
  const started = performance.now();
  let next = 0;
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (next < ids.length) {
        const i = next++;
        const orderId = ids[i]!;
        const body = {
          orderId,
          customer: { id: `cust-${i % 50}`, email: `c${i}@example.com`, name: 'Bench Customer' },
          channel: 'web',
          // Every fourth order wants skus two different warehouses carry: it ships as two parcels.
          items:
            i % 4 === 3
              ? [
                  { sku: 'COFFEE-1KG', quantity: 1 },
                  { sku: 'YOGA-MAT', quantity: 1 },
                ]
              : [{ sku: skus[i % skus.length]!, quantity: 1 + (i % 3) }],
          shippingAddress: {
            name: 'Bench',
            line1: '1 Main St',
            ...SAMPLE_PLACES[i % SAMPLE_PLACES.length]!,
            country: 'US',
          },
          // One order in ten overnight (urgent), two expedited (high), the rest standard (normal).
          shippingSpeed: i % 10 === 0 ? 'overnight' : i % 10 <= 2 ? 'expedited' : 'standard',
          payment: { token: 'tok_visa' },
        };
        const t0 = performance.now();
        const response = await fetch(`${baseUrl}/orders`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', authorization: `Bearer ${key}` },
          body: JSON.stringify(body),
        });
        const answer = (await response.json()) as { priority?: OrderPriority };
        latencies.push(performance.now() - t0);
        if (response.status !== 202) throw new Error(`POST /orders answered ${response.status}`);
        priorityOf.set(orderId, answer.priority!);
        accepted.set(orderId, performance.now());
        acceptedAt.set(orderId, Date.now());
      }
    }),
  );
  const acceptSeconds = (performance.now() - started) / 1000;

  // Time to final status, read from the read model as a client would.
  const finishedAt = new Map<string, number>();
  while (finishedAt.size < ids.length && performance.now() - started < 600_000) {
    const rows = await db.execute<{ order_id: string; status: string }>(
      sql`select order_id, status from orders where order_id like ${`bench-${runId}-%`}`,
    );
    for (const row of rows)
      if ((FINAL_STATUSES as readonly string[]).includes(row.status) && !finishedAt.has(row.order_id))
        finishedAt.set(row.order_id, performance.now());
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  const totalSeconds = (performance.now() - started) / 1000;
  const lifetimes = ids
    .filter((id) => finishedAt.has(id))
    .map((id) => finishedAt.get(id)! - accepted.get(id)!)
    .sort((a, b) => a - b);
  latencies.sort((a, b) => a - b);
  const statuses = await db.execute<{ status: string; n: number }>(
    sql`select status, count(*)::int as n from orders where order_id like ${`bench-${runId}-%`} group by status`,
  );
  // Capture as the payment ledger recorded it; pick start as the warehouse saw it (one clock, this machine).
  const captures = await db
    .select({ orderId: payments.orderId, at: payments.at })
    .from(payments)
    .where(and(eq(payments.kind, 'capture'), like(payments.orderId, `bench-${runId}-%`)));
  const captureToPick = new Map<OrderPriority, number[]>(orderPriorities.map((priority) => [priority, []]));
  // The first capture of each order (one per order today; a split order will capture per shipment).
  const capturedAt = new Map<string, number>();
  for (const row of captures)
    capturedAt.set(row.orderId, Math.min(capturedAt.get(row.orderId) ?? Infinity, row.at.getTime()));
  for (const [orderId, at] of capturedAt) {
    const pickAt = pickStartedAt.get(orderId);
    if (pickAt !== undefined) captureToPick.get(priorityOf.get(orderId)!)!.push(pickAt - at);
  }
  const receiptToPick = new Map<OrderPriority, number[]>(orderPriorities.map((priority) => [priority, []]));
  for (const [orderId, pickAt] of pickStartedAt)
    if (acceptedAt.has(orderId)) receiptToPick.get(priorityOf.get(orderId)!)!.push(pickAt - acceptedAt.get(orderId)!);
  const historySample = await env.client.workflow.getHandle(`order-${ids[0]}`).fetchHistory();
  const [split] = (await db.execute<{ orders: number; split: number; shipments: number }>(
    sql`select count(*)::int as orders,
               count(*) filter (where jsonb_array_length(view -> 'shipments') > 1)::int as split,
               coalesce(sum(jsonb_array_length(view -> 'shipments')), 0)::int as shipments
        from orders where order_id like ${`bench-${runId}-%`}`,
  )) as unknown as [{ orders: number; split: number; shipments: number }];
  const violations = await checkInvariants(db, { orderIds: ids });

  process.stdout.write(
    `\nbench: ${ORDERS} orders, ${CONCURRENCY} concurrent clients, ${ACTIVITY_SLOTS} activity slots, simulators at once, buffer ${policy.cancellationBuffer}, return window ${policy.returnWindow}\n`,
  );
  line(
    'POST /orders latency p50 / p95 / p99',
    `${percentile(latencies, 50).toFixed(1)} / ${percentile(latencies, 95).toFixed(1)} / ${percentile(latencies, 99).toFixed(1)} ms`,
  );
  line('orders accepted per second', (ORDERS / acceptSeconds).toFixed(1));
  line(
    'orders finished',
    `${finishedAt.size} of ${ORDERS} in ${totalSeconds.toFixed(1)} s (${statuses.map((s) => `${s.status} ${s.n}`).join(', ')})`,
  );
  line('orders finished per second', (finishedAt.size / totalSeconds).toFixed(2));
  line(
    'receipt to final status p50 / p95',
    `${(percentile(lifetimes, 50) / 1000).toFixed(1)} / ${(percentile(lifetimes, 95) / 1000).toFixed(1)} s (includes the 1 s buffer and 1 s window)`,
  );
  for (const [label, byPriority] of [
    ['capture', captureToPick],
    ['receipt', receiptToPick],
  ] as const)
    for (const [priority, waits] of byPriority) {
      waits.sort((a, b) => a - b);
      line(
        `${label} to pick start p50 / p95 ${priority}`,
        `${(percentile(waits, 50) / 1000).toFixed(2)} / ${(percentile(waits, 95) / 1000).toFixed(2)} s (${waits.length} orders)`,
      );
    }
  line('workflow history events per order', String(historySample.events?.length ?? 0));
  line(
    'share of orders split',
    `${((100 * split.split) / Math.max(1, split.orders)).toFixed(1)} % (${split.split} of ${split.orders})`,
  );
  line('shipments per order', (split.shipments / Math.max(1, split.orders)).toFixed(2));
  // Waves of this run (none while the bench's policy leaves wavePicking off).
  const waveFigures = await waveStats(db, new Date(Date.now() - (performance.now() - started)));
  line('waves released / mean wave size', `${waveFigures.released} / ${waveFigures.meanSize.toFixed(1)} shipments`);
  line('ledger invariant violations', String(violations.length));

  stop.abort();
  await deliveries;
  worker.shutdown();
  await running;
  await new Promise((resolve) => server.close(resolve));
  await env.teardown();
  await db.close();
  await postgres?.stop();
  rmSync(dataDir, { recursive: true, force: true });
}

main().catch((error) => {
  process.stderr.write(`bench failed: ${error instanceof Error ? error.stack : String(error)}\n`);
  process.exit(1);
});
