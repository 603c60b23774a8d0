import { config } from '../config/index.js';
import { createDatabase } from './client.js';
import { migrateDatabase } from './migrate.js';
import { seedDemoData } from './seed.js';

/**
 * One-shot production entrypoint (`node dist/db/setup.js`): applies the migrations, loads the
 * demo catalog and stock, and exits. Both steps are idempotent, so it is safe to run on every deploy.
 */
async function main(): Promise<void> {
  const settings = config();
  if (!settings.DATABASE_URL) throw new Error('DATABASE_URL is required');
  const db = createDatabase(settings.DATABASE_URL, { max: 1 });
  try {
    await migrateDatabase(db);
    await seedDemoData(db);
    process.stdout.write('database migrated and seeded\n');
  } finally {
    await db.close();
  }
}

main().catch((error) => {
  process.stderr.write(`database setup failed: ${error instanceof Error ? error.stack : String(error)}\n`);
  process.exit(1);
});
