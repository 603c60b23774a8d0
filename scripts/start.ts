import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Connection } from '@temporalio/client';
import { config } from '../config/index.js';
import { createDatabase } from '../db/client.js';
import { migrateDatabase } from '../db/migrate.js';
import { seedDemoData } from '../db/seed.js';
import { roles, type Role } from '../domain/schemas.js';
import { ORDER_SEARCH_ATTRIBUTES } from '../domain/search-attributes.js';
import { watchParent } from '../platform/parent-watch.js';
import { temporalCliPath } from './tools.js';

/**
 * `npm start`: the whole system on one machine. Postgres (DATABASE_URL, else an embedded server
 * with its data in .data/postgres), migrations and demo data, a Temporal dev server with Temporal
 * Web (TEMPORAL_ADDRESS, else a local one with its data in .data/temporal.db), the worker and the
 * API. Ctrl-C or SIGTERM stops everything in order (API, workers, Temporal, Postgres) and says
 * `stopped`; so does the death of whatever started it. Data survives a restart.
 */
const root = fileURLToPath(new URL('../', import.meta.url));
const dataDir = `${root}.data`;
const EMBEDDED_POSTGRES_PORT = 54329;
const TEMPORAL_PORT = 7233;
const TEMPORAL_UI_PORT = 8233;

const settings = config();
const children: { name: string; child: ChildProcess }[] = [];

function say(message: string): void {
  process.stdout.write(`[start] ${message}\n`);
}

/**
 * Runs a child process, prefixing its output, and stops everything if it dies. Each child has a
 * process group of its own, so a Ctrl-C in the terminal reaches only this process, which stops
 * them in order; if this process dies without stopping them, they see their parent gone and stop.
 */
function run(name: string, command: string, args: string[], env: NodeJS.ProcessEnv = process.env): ChildProcess {
  const child = spawn(command, args, { cwd: root, env, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
  const prefix = (chunk: Buffer) =>
    chunk
      .toString()
      .split('\n')
      .filter((line) => line.trim())
      .map((line) => `[${name}] ${line}\n`)
      .join('');
  // Once stopping, Temporal's own shutdown chatter (dial errors, failed polls of its system workers) is not news.
  const quiet = () => stopping && name === 'temporal';
  child.stdout?.on('data', (chunk: Buffer) => quiet() || process.stdout.write(prefix(chunk)));
  child.stderr?.on('data', (chunk: Buffer) => quiet() || process.stderr.write(prefix(chunk)));
  child.on('exit', (code, signal) => {
    if (!stopping) {
      say(`${name} exited (${signal ?? code}); stopping`);
      void stop(1);
    }
  });
  children.push({ name, child });
  return child;
}

/** A TypeScript entrypoint in a node process of its own (no tsx wrapper whose child a signal would miss). */
function runTs(name: string, entry: string, args: string[] = [], env: NodeJS.ProcessEnv = process.env): ChildProcess {
  return run(name, process.execPath, ['--import', 'tsx', entry, ...args], env);
}

async function waitFor(what: string, probe: () => Promise<boolean>, timeoutMs = 90_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await probe().catch(() => false)) return;
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
  throw new Error(`${what} did not come up within ${timeoutMs / 1000}s`);
}

async function startPostgres(): Promise<string> {
  if (settings.DATABASE_URL) {
    say('Postgres: using DATABASE_URL');
    return settings.DATABASE_URL;
  }
  mkdirSync(dataDir, { recursive: true });
  say(`Postgres: embedded server on 127.0.0.1:${EMBEDDED_POSTGRES_PORT}, data in .data/postgres`);
  const server = runTs('postgres', 'scripts/embedded-postgres-process.ts', [
    `${dataDir}/postgres`,
    String(EMBEDDED_POSTGRES_PORT),
    'orders',
  ]);
  return new Promise((resolve, reject) => {
    let seen = '';
    server.stdout?.on('data', (chunk: Buffer) => {
      seen += chunk.toString();
      const ready = /^ready (\S+)$/m.exec(seen);
      if (ready) resolve(ready[1]!);
    });
    server.once('exit', () => reject(new Error('the embedded Postgres did not start')));
  });
}

async function startTemporal(): Promise<{ address: string; ui: string | null }> {
  if (settings.TEMPORAL_ADDRESS) {
    say(`Temporal: using TEMPORAL_ADDRESS ${settings.TEMPORAL_ADDRESS}`);
    return { address: settings.TEMPORAL_ADDRESS, ui: null };
  }
  const cli = temporalCliPath();
  if (!cli)
    throw new Error('Temporal CLI not found: run `bash scripts/install-tools.sh temporal` (npm start does it for you)');
  mkdirSync(dataDir, { recursive: true });
  const address = `127.0.0.1:${TEMPORAL_PORT}`;
  say(`Temporal: dev server on ${address}, Web UI on ${TEMPORAL_UI_PORT}, data in .data/temporal.db`);
  run('temporal', cli, [
    'server',
    'start-dev',
    '--ip',
    '127.0.0.1',
    '--port',
    String(TEMPORAL_PORT),
    '--ui-port',
    String(TEMPORAL_UI_PORT),
    '--db-filename',
    `${dataDir}/temporal.db`,
    '--namespace',
    settings.TEMPORAL_NAMESPACE,
    '--log-level',
    'warn',
    ...ORDER_SEARCH_ATTRIBUTES.flatMap((key) => ['--search-attribute', `${key.name}=Keyword`]),
  ]);
  await waitFor('Temporal', async () => {
    const connection = await Connection.connect({ address, connectTimeout: 1_000 });
    try {
      await connection.workflowService.describeNamespace({ namespace: settings.TEMPORAL_NAMESPACE });
      return true;
    } finally {
      await connection.close();
    }
  });
  return { address, ui: `http://127.0.0.1:${TEMPORAL_UI_PORT}` };
}

interface LocalCredentials {
  /** Plain keys by role, when generated here (null when API_KEYS came from the environment). */
  generated: Record<Role, string> | null;
  apiKeys: string;
  carrierWebhookSecret: string;
  /** What the simulated warehouse calls the API with. */
  simulatorKey: string | undefined;
}

/**
 * API_KEYS and CARRIER_WEBHOOK_SECRET from the environment, else generated once for local
 * development and kept in .data/api-keys.json (readable by this user only), so they survive
 * restarts. A deployment passes its own (or sha256 digests) and this file is never made.
 */
function localCredentials(): LocalCredentials {
  const file = `${dataDir}/api-keys.json`;
  let stored: { keys: Record<Role, string>; carrierWebhookSecret: string } | null = null;
  const useStored = !process.env.API_KEYS || !process.env.CARRIER_WEBHOOK_SECRET;
  if (useStored) {
    const token = () => randomBytes(24).toString('base64url');
    if (existsSync(file)) stored = JSON.parse(readFileSync(file, 'utf8')) as typeof stored;
    // A role added since the file was written (`monitoring`) gets its key now.
    const old = stored as { keys: Partial<Record<Role, string>>; carrierWebhookSecret: string } | null;
    if (old && roles.some((role) => !old.keys[role])) {
      stored = {
        ...old,
        keys: {
          ...(Object.fromEntries(roles.map((role) => [role, `dev_${role}_${token()}`])) as Record<Role, string>),
          ...old.keys,
        },
      };
      writeFileSync(file, JSON.stringify(stored, null, 2) + '\n', { mode: 0o600 });
    }
    if (!stored) {
      stored = {
        keys: Object.fromEntries(roles.map((role) => [role, `dev_${role}_${token()}`])) as Record<Role, string>,
        carrierWebhookSecret: token() + token(),
      };
      mkdirSync(dataDir, { recursive: true });
      writeFileSync(file, JSON.stringify(stored, null, 2) + '\n', { mode: 0o600 });
    }
  }
  const generated = process.env.API_KEYS ? null : stored!.keys;
  return {
    generated,
    apiKeys: process.env.API_KEYS ?? roles.map((role) => `local-${role}=${stored!.keys[role]}:${role}`).join(','),
    carrierWebhookSecret: process.env.CARRIER_WEBHOOK_SECRET ?? stored!.carrierWebhookSecret,
    simulatorKey: settings.SIMULATOR_API_KEY ?? generated?.warehouse,
  };
}

let stopping = false;
/** Stop order: the API (no new work), the workers (drain), Temporal, Postgres; each waited for, bounded. */
const STOP_ORDER: { name: string; waitMs: number }[] = [
  { name: 'api', waitMs: 15_000 },
  { name: 'worker', waitMs: 30_000 },
  { name: 'temporal', waitMs: 15_000 },
  { name: 'postgres', waitMs: 20_000 },
];

async function stopChild(name: string, child: ChildProcess, waitMs: number): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGTERM');
  const timer = setTimeout(() => {
    say(`${name} did not stop within ${waitMs / 1000}s; killing it`);
    child.kill('SIGKILL');
  }, waitMs);
  await exited;
  clearTimeout(timer);
}

let stopped: Promise<never> | null = null;
/** Stops once: a second signal (Ctrl-C arrives from the terminal and from npm) waits for the same stop. */
function stop(code: number): Promise<never> {
  stopped ??= (async () => {
    stopping = true;
    say('stopping…');
    for (const { name, waitMs } of STOP_ORDER) {
      for (const entry of children.filter((c) => c.name === name)) await stopChild(name, entry.child, waitMs);
    }
    say('stopped');
    process.exit(code);
  })();
  return stopped;
}

async function main(): Promise<void> {
  // `on`, not `once`: Ctrl-C reaches this process twice (from the terminal, and relayed by tsx), and
  // a second signal without a handler would kill it halfway through the ordered stop.
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.on(signal, () => void stop(0));
  // npm (or whatever started this) killed outright does not pass a signal on: stop when it is gone.
  watchParent(() => void stop(0));

  const databaseUrl = await startPostgres();
  const db = createDatabase(databaseUrl, { max: 1 });
  await migrateDatabase(db);
  await seedDemoData(db);
  await db.close();
  say('database migrated and seeded');

  const temporal = await startTemporal();
  const credentials = localCredentials();
  const env = {
    ...process.env,
    DATABASE_URL: databaseUrl,
    TEMPORAL_ADDRESS: temporal.address,
    CARRIER_WEBHOOK_SECRET: credentials.carrierWebhookSecret,
    // On the local dev server one worker is replaced at every start: the code started is the code
    // that runs. A shared cluster (TEMPORAL_ADDRESS) keeps production's rule (docs/operations.md#safe-deploys).
    WORKER_MAKE_CURRENT: process.env.WORKER_MAKE_CURRENT ?? (settings.TEMPORAL_ADDRESS ? 'when-none' : 'always'),
  };
  // The worker gets only the key its simulated warehouse needs; the API gets them all.
  runTs(
    'worker',
    'workers/main.ts',
    [],
    credentials.simulatorKey ? { ...env, SIMULATOR_API_KEY: credentials.simulatorKey } : env,
  );
  runTs('api', 'api/server.ts', [], { ...env, API_KEYS: credentials.apiKeys });
  const api = `http://127.0.0.1:${settings.PORT}`;
  await waitFor('API', async () => (await fetch(`${api}/healthz`)).ok);

  process.stdout.write(
    [
      '',
      '  The order-fulfillment engine is up.',
      `  API            ${api}   (try: curl -H "Authorization: Bearer $KEY" ${api}/products)`,
      `  API docs       ${api}/docs   (OpenAPI: ${api}/openapi.json)`,
      `  Metrics        API ${api}/metrics (monitoring key), worker http://127.0.0.1:${settings.WORKER_METRICS_PORT}/metrics`,
      ...(credentials.generated
        ? [
            '  API keys       generated for local development, kept in .data/api-keys.json (send as Authorization: Bearer <key>):',
            ...roles.map((role) => `                   ${role.padEnd(10)} ${credentials.generated![role]}`),
          ]
        : ['  API keys       from API_KEYS']),
      temporal.ui
        ? `  Temporal Web   ${temporal.ui}/namespaces/${settings.TEMPORAL_NAMESPACE}/workflows`
        : `  Temporal       ${temporal.address}`,
      `  Find an order  in Temporal Web: workflow ID order-<orderId>, or filter OrderStatus="needs_attention"`,
      `  Policy         cancellation buffer ${settings.CANCELLATION_BUFFER}, return window ${settings.RETURN_WINDOW}, simulator delay scale ${settings.SIM_DELAY_SCALE}`,
      '  Ctrl-C stops everything; data stays in .data/',
      '',
    ].join('\n') + '\n',
  );
}

main().catch(async (error) => {
  process.stderr.write(`[start] failed: ${error instanceof Error ? error.message : String(error)}\n`);
  await stop(1);
});
