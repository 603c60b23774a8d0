import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { parseArgs } from 'node:util';
import { fileURLToPath } from 'node:url';
import { config } from '../config/index.js';
import { roles } from '../domain/schemas.js';
import { generateEncryptionKey } from '../platform/payload-codec.js';
import { type Cluster, startCluster, TEMPORAL_SERVER_VERSION } from './cluster-topology.js';

/**
 * `npm run cluster`: the production topology on this machine (scripts/cluster-topology.ts). A
 * Temporal server built from source on Postgres (DATABASE_URL's server, else an embedded one with
 * its data in .data/cluster/postgres), two workers and the API, each its own process, all on free
 * ports unless given:
 *
 *   npm run cluster -- --api-port 3100 --temporal-port 7300 --postgres-port 54400 --workers 2
 *
 * Ctrl-C (or SIGTERM) stops the API, then the workers, then Temporal, then Postgres.
 */
const { values } = parseArgs({
  options: {
    'api-port': { type: 'string' },
    'temporal-port': { type: 'string' },
    'postgres-port': { type: 'string' },
    workers: { type: 'string', default: '2' },
  },
});
const number = (text: string | undefined) => (text === undefined ? undefined : Number(text));
const root = fileURLToPath(new URL('../', import.meta.url));
const settings = config();

function say(message: string): void {
  process.stdout.write(`[cluster] ${message}\n`);
}

let stopCluster: (() => Promise<void>) | undefined;
let stopping = false;
async function stop(code: number): Promise<never> {
  if (!stopping) {
    stopping = true;
    say('stopping: API, workers, Temporal, Postgres…');
    await stopCluster?.();
    say('stopped');
  }
  process.exit(code);
}

/**
 * PAYLOAD_ENCRYPTION_KEYS, else a key made on the first start and kept beside the cluster's data:
 * the histories it encrypted stay readable across restarts.
 */
function payloadEncryptionKeys(): string {
  if (process.env.PAYLOAD_ENCRYPTION_KEYS) return process.env.PAYLOAD_ENCRYPTION_KEYS;
  const file = `${root}.data/cluster/payload-encryption-keys`;
  if (!existsSync(file)) {
    mkdirSync(dirname(file), { recursive: true });
    writeFileSync(file, `${generateEncryptionKey()}\n`, { mode: 0o600 });
  }
  return readFileSync(file, 'utf8').trim();
}

async function main(): Promise<void> {
  // `on`, not `once`: a Ctrl-C reaches this process twice (from the terminal and relayed by tsx), and
  // a second signal without a handler would end it in the middle of the teardown.
  process.on('SIGINT', () => void stop(0));
  process.on('SIGTERM', () => void stop(0));
  const cluster: Cluster = await startCluster({
    dataDir: `${root}.data/cluster/postgres`,
    payloadEncryptionKeys: payloadEncryptionKeys(),
    databaseUrl: settings.DATABASE_URL,
    namespace: settings.TEMPORAL_NAMESPACE,
    ports: {
      api: number(values['api-port']),
      temporal: number(values['temporal-port']),
      postgres: number(values['postgres-port']),
    },
    workers: Number(values.workers),
    registerStop: (stop) => (stopCluster = stop),
    say,
    output: (name, line, stream) =>
      (stream === 'stderr' ? process.stderr : process.stdout).write(`[${name}] ${line}\n`),
    onUnexpectedExit: (name, code, signal) => {
      say(`${name} exited (${signal ?? code}); stopping`);
      void stop(1);
    },
  });
  const { apiUrl, temporalAddress, namespace, apiKeys, temporalMetricsUrl } = cluster;
  process.stdout.write(
    [
      '',
      `  The order-fulfillment engine is up on a Temporal ${TEMPORAL_SERVER_VERSION} cluster on Postgres.`,
      `  API            ${apiUrl}   (docs: ${apiUrl}/docs)`,
      '  API keys       generated for this run (Authorization: Bearer <key>):',
      ...roles.map((role) => `                   ${role.padEnd(10)} ${apiKeys[role]}`),
      `  Temporal       ${temporalAddress}, namespace ${namespace}   (metrics: ${temporalMetricsUrl})`,
      // The Temporal CLI's Web UI serves only its own dev server, and no standalone UI build comes from
      // the registries this project installs from: docker compose runs temporalio/ui against a cluster.
      `  Temporal Web   not bundled here; e.g. .tools/py/bin/temporal workflow list --address ${temporalAddress} --query "OrderStatus='completed'"`,
      '  Ctrl-C stops everything.',
      '',
    ].join('\n') + '\n',
  );
}

main().catch(async (error) => {
  process.stderr.write(`[cluster] failed: ${error instanceof Error ? error.message : String(error)}\n`);
  await stop(1);
});
