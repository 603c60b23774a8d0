import { mkdtempSync, rmSync } from 'node:fs';
import type { Server } from 'node:http';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import type { Client } from '@temporalio/client';
import { sql } from 'drizzle-orm';
import { createApp } from '../api/app.js';
import { parseApiKeys } from '../platform/credentials.js';
import { createDatabase } from '../db/client.js';
import { startEmbeddedPostgres } from '../db/embedded.js';
import { migrateDatabase } from '../db/migrate.js';
import { loadOrderHistory } from '../db/order-history.js';
import { seedDemoData } from '../db/seed.js';
import { progressBar } from './progress.js';

/**
 * `npm run bench:kpis`: how fast `GET /reports/kpis` answers for 30 days over 100,000 orders.
 * Seeds that volume through the history path (db/order-history.ts) into a fresh embedded Postgres
 * (or DATABASE_URL, into its own prefix), then calls the API over HTTP, warm, several times.
 *
 *   npm run bench:kpis                       # 100,000 orders, 10 calls, a table
 *   npm run bench:kpis -- --orders 20000 --runs 5 --json
 */
const { values: args } = parseArgs({
  options: {
    orders: { type: 'string', default: '100000' },
    runs: { type: 'string', default: '10' },
    json: { type: 'boolean', default: false },
  },
});
const ORDERS = Number(args.orders);
const RUNS = Number(args.runs);
const DAY = 86_400_000;

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? NaN;
}

async function main(): Promise<void> {
  const dataDir = mkdtempSync(join(tmpdir(), 'kpi-bench-'));
  const postgres = process.env.DATABASE_URL
    ? null
    : await startEmbeddedPostgres({ dataDir, port: 54341, database: 'kpi_bench', persistent: false });
  // The API's pool size (api/server.ts): the report's statements run side by side.
  const db = createDatabase(process.env.DATABASE_URL ?? postgres!.url);
  try {
    await migrateDatabase(db);
    await seedDemoData(db);
    const now = new Date();
    const from = new Date(now.getTime() - 30 * DAY);
    const prefix = `bench${now.getTime().toString(36)}`;
    const seedStarted = performance.now();
    const bar = args.json ? undefined : progressBar('seeding orders');
    await loadOrderHistory(db, { orders: ORDERS, from, to: now, now, prefix, progress: bar });
    const seedSeconds = (performance.now() - seedStarted) / 1000;
    const [counts] = await db.execute<{ orders: number; events: number }>(
      sql`select (select count(*) from orders)::int as orders, (select count(*) from order_events)::int as events`,
    );

    const key = 'bench-kpi-key-0123456789abcdef';
    const app = createApp({
      db,
      temporal: {} as Client,
      auth: {
        apiKeys: parseApiKeys(`bench=${key}:support`),
        carrierWebhookSecret: 'unused-secret-0123456789abcdef0123456789',
      },
      orderPolicy: {} as never,
      log: { error: (error, message) => console.error(message, error), info: () => {} },
    });
    const server = await new Promise<Server>((resolve) => {
      const listening = app.listen(0, '127.0.0.1', () => resolve(listening));
    });
    const url = `http://127.0.0.1:${(server.address() as { port: number }).port}/reports/kpis?from=${from.toISOString()}&to=${now.toISOString()}`;
    const call = async (query = '') => {
      const t0 = performance.now();
      const response = await fetch(url + query, { headers: { authorization: `Bearer ${key}` } });
      const body = (await response.json()) as { totals: { placed: number } };
      if (response.status !== 200)
        throw new Error(`GET /reports/kpis answered ${response.status}: ${JSON.stringify(body)}`);
      return { ms: performance.now() - t0, placed: body.totals.placed };
    };
    await call(); // warm-up: plans and caches
    const latencies: number[] = [];
    let placed = 0;
    for (let i = 0; i < RUNS; i += 1) {
      const result = await call();
      latencies.push(result.ms);
      placed = result.placed;
    }
    const filtered = (await call('&channel=web&warehouseId=wh-east&granularity=week')).ms;
    await new Promise((resolve) => server.close(resolve));
    latencies.sort((a, b) => a - b);
    const result = {
      orders: counts?.orders ?? 0,
      orderEvents: counts?.events ?? 0,
      ordersInRange: placed,
      cores: cpus().length,
      /** Other processes share the machine: the 1-minute load average when the calls ran. */
      loadAverage: Number(loadavg()[0]!.toFixed(2)),
      seedSeconds: Number(seedSeconds.toFixed(1)),
      runs: RUNS,
      latencyMs: {
        min: Number(latencies[0]!.toFixed(1)),
        p50: Number(percentile(latencies, 50).toFixed(1)),
        p95: Number(percentile(latencies, 95).toFixed(1)),
        max: Number(latencies[latencies.length - 1]!.toFixed(1)),
      },
      filteredLatencyMs: Number(filtered.toFixed(1)),
      underOneSecond: latencies[latencies.length - 1]! < 1000,
    };
    if (args.json) {
      process.stdout.write(`${JSON.stringify(result)}\n`);
    } else {
      const line = (label: string, value: string) => process.stdout.write(`${label.padEnd(44)} ${value}\n`);
      process.stdout.write(
        `\nbench:kpis on ${result.cores} cores, load average ${result.loadAverage} when the calls ran\n`,
      );
      line('orders in the database / timeline events', `${result.orders} / ${result.orderEvents}`);
      line('seeding (history path)', `${result.seedSeconds} s`);
      line('orders placed in the 30-day range', String(result.ordersInRange));
      line(
        `GET /reports/kpis, 30 days, ${RUNS} warm calls`,
        `min ${result.latencyMs.min} / p50 ${result.latencyMs.p50} / p95 ${result.latencyMs.p95} / max ${result.latencyMs.max} ms`,
      );
      line('  with channel + warehouse filters, by week', `${result.filteredLatencyMs} ms`);
      line('under 1 s', result.underOneSecond ? 'yes' : 'NO');
    }
  } finally {
    await db.close();
    await postgres?.stop();
    rmSync(dataDir, { recursive: true, force: true });
  }
}

main().catch((error) => {
  process.stderr.write(
    `bench:kpis failed: ${error instanceof Error ? `${error.message.slice(0, 500)} ${String((error as { cause?: unknown }).cause ?? '')}` : String(error)}\n`,
  );
  process.exit(1);
});
