import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createWriteStream, readFileSync, type WriteStream } from 'node:fs';
import { createServer, request as httpRequest, type Server } from 'node:http';
import { createServer as createNetServer } from 'node:net';
import { fileURLToPath } from 'node:url';
import { Connection } from '@temporalio/client';
import { startEmbeddedPostgres } from '../db/embedded.js';
import { generateEncryptionKey } from '../platform/payload-codec.js';
import { ORDER_SEARCH_ATTRIBUTES } from '../domain/search-attributes.js';
import { prepareTemporalDatabases, registerNamespace, temporalServerProcess } from './cluster-topology.js';
import { devServerDynamicConfigArgs, temporalCliPath } from './tools.js';

/**
 * The processes `npm run chaos` runs and kills: Postgres (embedded), the Temporal dev server, the
 * workers and the API, each a process of its own on a free loopback port, logs in the run's
 * directory. Every child is started in this process's group and stopped when it exits.
 */
export const root = fileURLToPath(new URL('../', import.meta.url));

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createNetServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

export async function waitFor(what: string, probe: () => Promise<boolean>, timeoutMs = 90_000): Promise<number> {
  const started = Date.now();
  while (Date.now() - started < timeoutMs) {
    if (await probe().catch(() => false)) return Date.now() - started;
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  throw new Error(`${what} did not come up within ${timeoutMs / 1000}s`);
}

/** A child process that can be killed and started again with the same command, appending to one log. */
export class Managed {
  /** Every managed process, killed if this process exits before stopping them. */
  static readonly all = new Set<Managed>();
  child: ChildProcess | null = null;
  private readonly log: WriteStream;
  starts = 0;
  /** Called when the process exits without being stopped: a crash (a supervisor would restart it). */
  onCrash: ((code: number | null, signal: NodeJS.Signals | null) => void) | null = null;
  private stopping = false;

  constructor(
    readonly name: string,
    private readonly command: string,
    private readonly args: string[],
    readonly env: NodeJS.ProcessEnv,
    readonly logFile: string,
  ) {
    this.log = createWriteStream(logFile, { flags: 'a' });
    Managed.all.add(this);
  }

  start(): void {
    this.starts += 1;
    this.log.write(`--- chaos: start #${this.starts} at ${new Date().toISOString()}\n`);
    const child = spawn(this.command, this.args, { cwd: root, env: this.env, stdio: ['ignore', 'pipe', 'pipe'] });
    child.stdout?.pipe(this.log, { end: false });
    child.stderr?.pipe(this.log, { end: false });
    this.stopping = false;
    child.once('exit', (code, signal) => {
      if (this.child !== child || this.stopping) return;
      this.log.write(`--- chaos: crashed, exit ${code ?? signal}\n`);
      this.onCrash?.(code, signal);
    });
    this.child = child;
  }

  get pid(): number | undefined {
    return this.child?.exitCode === null && this.child.signalCode === null ? this.child.pid : undefined;
  }

  /** Sends `signal` and waits for the exit (up to `timeoutMs`, then SIGKILL); the time it took. */
  async stop(
    signal: NodeJS.Signals,
    timeoutMs = 20_000,
  ): Promise<{ ms: number; forced: boolean; code: number | null }> {
    const child = this.child;
    const started = Date.now();
    if (!child || child.exitCode !== null || child.signalCode !== null)
      return { ms: 0, forced: false, code: child?.exitCode ?? null };
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    this.stopping = true;
    child.kill(signal);
    let forced = false;
    const timer = setTimeout(() => {
      forced = true;
      child.kill('SIGKILL');
    }, timeoutMs);
    const code = await exited;
    clearTimeout(timer);
    this.log.write(
      `--- chaos: stopped by ${signal} in ${Date.now() - started} ms${forced ? ' (forced)' : ''}, exit ${code}\n`,
    );
    return { ms: Date.now() - started, forced, code };
  }

  close(): void {
    this.log.end();
  }
}

process.on('exit', () => {
  for (const managed of Managed.all) if (managed.pid) managed.child?.kill('SIGKILL');
});

/** A node process running a TypeScript entrypoint in-process (no tsx wrapper whose child a kill would miss). */
export function nodeProcess(name: string, entry: string, env: NodeJS.ProcessEnv, logFile: string): Managed {
  return new Managed(name, process.execPath, ['--import', 'tsx', entry], env, logFile);
}

export async function startPostgres(dataDir: string, port: number, options: { postgresFlags?: string[] } = {}) {
  return startEmbeddedPostgres({ dataDir, port, database: 'orders', ...options });
}

/** A run's credentials: a fresh API key per role (`<run>-<role>` in API_KEYS) and a carrier secret. */
export function runSecrets<Role extends string>(roles: Role[]) {
  return {
    keys: Object.fromEntries(roles.map((role) => [role, randomBytes(24).toString('hex')])) as Record<Role, string>,
    carrierSecret: randomBytes(32).toString('hex'),
  };
}

/**
 * What every process of the run is configured with, as an operator would set it: the database,
 * Temporal, the API's port, the run's keys and carrier secret, a payload encryption key (payloads
 * encrypted, as in production) and the warehouse key the simulators call with.
 */
export function serviceEnv(
  run: string,
  where: { databaseUrl: string; temporalAddress: string; namespace: string; apiPort: number },
  secrets: { keys: Record<string, string> & { warehouse: string }; carrierSecret: string },
): NodeJS.ProcessEnv {
  return {
    ...process.env,
    DATABASE_URL: where.databaseUrl,
    TEMPORAL_ADDRESS: where.temporalAddress,
    TEMPORAL_NAMESPACE: where.namespace,
    PORT: String(where.apiPort),
    API_KEYS: Object.entries(secrets.keys)
      .map(([role, key]) => `${run}-${role}=${key}:${role}`)
      .join(','),
    CARRIER_WEBHOOK_SECRET: secrets.carrierSecret,
    PAYLOAD_ENCRYPTION_KEYS: generateEncryptionKey(),
    SIMULATOR_API_KEY: secrets.keys.warehouse,
  };
}

/**
 * The order workers (`count`, each with a Prometheus port of its own) and the API, as processes of
 * the run on `env` (DATABASE_URL, TEMPORAL_*, API_KEYS... as the operator would set them); not started.
 */
export async function serviceProcesses(
  dir: string,
  env: NodeJS.ProcessEnv,
  count = 2,
): Promise<{ workers: Managed[]; api: Managed }> {
  const workers: Managed[] = [];
  for (let n = 1; n <= count; n += 1)
    workers.push(
      nodeProcess(
        `worker-${n}`,
        'workers/main.ts',
        { ...env, WORKER_METRICS_HOST: '127.0.0.1', WORKER_METRICS_PORT: String(await freePort()) },
        `${dir}/worker-${n}.log`,
      ),
    );
  return { workers, api: nodeProcess('api', 'api/server.ts', env, `${dir}/api.log`) };
}

/** Whether the worker's latest start has logged that it runs (its log holds every start). */
export function workerUp(worker: Managed): () => Promise<boolean> {
  return async () => readFileSync(worker.logFile, 'utf8').split('--- chaos: start').at(-1)!.includes('worker running');
}

export function temporalServer(
  dir: string,
  port: number,
  namespace: string,
  options: {
    /** Where the server serves its own Prometheus metrics (the `action` counter among them). */
    metricsPort?: number;
    /** More namespaces to register beside `namespace`. */
    namespaces?: string[];
  } = {},
): Managed {
  const cli = temporalCliPath();
  if (!cli) throw new Error('Temporal CLI not found: run `bash scripts/install-tools.sh`');
  return new Managed(
    'temporal',
    cli,
    [
      'server',
      'start-dev',
      '--ip',
      '127.0.0.1',
      '--port',
      String(port),
      '--headless',
      '--db-filename',
      `${dir}/temporal.db`,
      ...[namespace, ...(options.namespaces ?? [])].flatMap((name) => ['--namespace', name]),
      ...(options.metricsPort ? ['--metrics-port', String(options.metricsPort)] : []),
      '--log-level',
      'warn',
      ...ORDER_SEARCH_ATTRIBUTES.flatMap((key) => ['--search-attribute', `${key.name}=Keyword`]),
      ...devServerDynamicConfigArgs(),
    ],
    process.env,
    `${dir}/temporal.log`,
  );
}

/**
 * `--cluster`: the Go-built Temporal server of `npm run cluster` (scripts/cluster-topology.ts) on
 * the run's own Postgres, persistence and visibility both there, so a Postgres restart takes
 * Temporal's database away too. Restarted on the same ports and databases.
 */
export async function temporalClusterServer(
  dir: string,
  port: number,
  databaseUrl: string,
  namespace: string,
): Promise<{ server: Managed; ready: () => Promise<void> }> {
  await prepareTemporalDatabases(databaseUrl);
  const { command, args, env, temporalAddress } = await temporalServerProcess(databaseUrl, { frontendPort: port });
  const server = new Managed('temporal', command, args, env, `${dir}/temporal.log`);
  return { server, ready: () => registerNamespace(temporalAddress, namespace) };
}

export async function temporalAnswers(address: string, namespace: string): Promise<boolean> {
  const connection = await Connection.connect({ address, connectTimeout: 1_000 });
  try {
    await connection.workflowService.describeNamespace({ namespace });
    return true;
  } finally {
    await connection.close();
  }
}

/**
 * The carriers' way in: a loopback proxy in front of the API that the simulators call. During a
 * blackout it drops every carrier webhook's connection, as a network outage between the carrier and us would.
 */
export function webhookProxy(target: () => number): {
  server: Server;
  blackout: (on: boolean) => void;
  dropped: () => number;
} {
  let dark = false;
  let dropped = 0;
  const server = createServer((req, res) => {
    if (dark && req.url?.startsWith('/carriers/')) {
      dropped += 1;
      req.socket.destroy();
      return;
    }
    const upstream = httpRequest(
      { host: '127.0.0.1', port: target(), path: req.url, method: req.method, headers: req.headers },
      (answer) => {
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(res);
      },
    );
    upstream.on('error', () => req.socket.destroy());
    req.pipe(upstream);
  });
  return { server, blackout: (on) => (dark = on), dropped: () => dropped };
}
