import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Client, Connection } from '@temporalio/client';
import { notInArray, sql } from 'drizzle-orm';
import postgres from 'postgres';
import { closedOrderWorkflows } from '../activities/workflow-state.js';
import { config } from '../config/index.js';
import { temporalConnectConfig } from '../config/temporal.js';
import { createDatabase, type Database } from '../db/client.js';
import { startEmbeddedPostgres } from '../db/embedded.js';
import { checkInvariants } from '../db/invariants.js';
import { orders } from '../db/schema.js';
import { FINAL_STATUSES } from '../domain/statuses.js';

/**
 * `npm run check:ledger`: checks the money, reservation and stock invariants (db/invariants.ts) over
 * the whole database and prints every violation; exits 1 when there is any. Uses DATABASE_URL, else
 * the embedded Postgres `npm start` runs (started here, and stopped again, only if it is not running).
 *
 * The tables cannot tell a terminated order from a running one, so it asks Temporal (connected as the
 * worker is: config/temporal.ts) about every non-final order's
 * workflow; closed or missing ones are judged like final orders. Temporal unreachable is a failure;
 * `--without-temporal` skips those rules and says so.
 */
const root = fileURLToPath(new URL('../', import.meta.url));
const EMBEDDED_DATA_DIR = `${root}.data/postgres`;
const EMBEDDED_POSTGRES_PORT = 54329;
const EMBEDDED_URL = `postgres://postgres:postgres@127.0.0.1:${EMBEDDED_POSTGRES_PORT}/orders`;

function say(message: string): void {
  process.stderr.write(`[check:ledger] ${message}\n`);
}

async function answers(url: string): Promise<boolean> {
  const probe = postgres(url, { max: 1, connect_timeout: 3, onnotice: () => {} });
  try {
    await probe`select 1`;
    return true;
  } catch {
    return false;
  } finally {
    await probe.end({ timeout: 1 }).catch(() => {});
  }
}

/** The database to check, and what to stop afterwards. */
async function database(): Promise<{ url: string; stop: () => Promise<unknown> }> {
  const settings = config();
  const nothing = async () => {};
  if (settings.DATABASE_URL) return { url: settings.DATABASE_URL, stop: nothing };
  if (await answers(EMBEDDED_URL)) return { url: EMBEDDED_URL, stop: nothing };
  if (!existsSync(`${EMBEDDED_DATA_DIR}/PG_VERSION`)) {
    throw new Error(
      'no database to check: set DATABASE_URL, or run `npm start` once so the embedded Postgres in .data/postgres exists',
    );
  }
  say(`starting the embedded Postgres (.data/postgres, port ${EMBEDDED_POSTGRES_PORT}) for the check`);
  const server = await startEmbeddedPostgres({
    dataDir: EMBEDDED_DATA_DIR,
    port: EMBEDDED_POSTGRES_PORT,
    database: 'orders',
  });
  return { url: server.url, stop: () => server.stop() };
}

/** Non-final orders whose workflow Temporal says is closed or gone, with what it said. */
async function closedWorkflows(db: Database): Promise<Map<string, string>> {
  const { connectionOptions, namespace, dataConverter } = temporalConnectConfig(config());
  const address = connectionOptions.address ?? 'the default address';
  const open = await db
    .select({ orderId: orders.orderId })
    .from(orders)
    .where(notInArray(orders.status, [...FINAL_STATUSES]));
  let connection: Connection;
  try {
    connection = await Connection.connect({ ...connectionOptions, connectTimeout: '5s' });
  } catch (error) {
    throw new Error(
      `cannot reach Temporal at ${address} (namespace ${namespace}) to see which orders' workflows are closed: ${(error as Error).message}; run with --without-temporal to check without it`,
    );
  }
  try {
    const client = new Client({ connection, namespace, dataConverter });
    const closed = await closedOrderWorkflows(
      client,
      open.map((row) => row.orderId),
    );
    say(`${open.length} non-final orders asked about at ${address}: ${closed.size} with a closed or missing workflow`);
    return new Map([...closed].map(([orderId, state]) => [orderId, state.status]));
  } finally {
    await connection.close();
  }
}

async function main(): Promise<number> {
  const withTemporal = !process.argv.includes('--without-temporal');
  const target = await database();
  const db = createDatabase(target.url, { max: 1 });
  try {
    const [counts] = (await db.execute<{ orders: number; stock_rows: number }>(
      sql`select (select count(*) from orders)::int as orders, (select count(*) from stock)::int as stock_rows`,
    )) as unknown as [{ orders: number; stock_rows: number }];
    const closed = withTemporal ? await closedWorkflows(db) : new Map<string, string>();
    if (!withTemporal)
      say(
        'without Temporal: orders of terminated workflows are not judged (closed_workflow and the holding rules over them)',
      );
    const violations = await checkInvariants(db, { closedOrderIds: [...closed.keys()] });
    for (const violation of violations) {
      const workflow = closed.get(violation.subject);
      process.stdout.write(
        `${violation.rule}\t${violation.subject}\t${violation.detail}${workflow ? ` [workflow ${workflow}]` : ''}\n`,
      );
    }
    process.stdout.write(
      `ledger check: ${counts.orders} orders, ${counts.stock_rows} stock rows, ${violations.length} violations\n`,
    );
    return violations.length > 0 ? 1 : 0;
  } finally {
    await db.close().catch(() => {});
    await target.stop();
  }
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    // drizzle wraps driver errors (message: the whole query); the driver's own says what went wrong.
    const cause = (error as { cause?: unknown })?.cause ?? error;
    const code = (cause as { code?: unknown })?.code;
    say(`failed: ${cause instanceof Error ? cause.message : String(cause)}`);
    // 42P01 undefined table, 42703 undefined column: a database older than this code.
    if (code === '42P01' || code === '42703')
      say("the database is not migrated to this code's schema; `npm start` migrates it");
    process.exit(1);
  },
);
