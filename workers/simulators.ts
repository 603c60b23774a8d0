import { config } from '../config/index.js';
import { createDatabase } from '../db/client.js';
import { createLogger } from '../platform/logger.js';
import { watchParent } from '../platform/parent-watch.js';
import { runDeliveryLoop } from '../simulators/deliveries.js';
import { simulatorTarget } from './simulator-target.js';

/**
 * The simulated warehouse's and carriers' callbacks as a process of their own, the way the real
 * parties are outside our workers: `npm run bench` runs it beside workers started with
 * `SIMULATORS=false`. It sends what the parties' books say is due to the API until SIGINT/SIGTERM.
 */
async function main(): Promise<void> {
  const settings = config();
  const logger = createLogger('simulators', settings.LOG_LEVEL);
  if (!settings.DATABASE_URL) throw new Error('DATABASE_URL is required');
  const target = simulatorTarget(settings);
  const db = createDatabase(settings.DATABASE_URL, { max: 2 });
  const stop = new AbortController();
  for (const signal of ['SIGINT', 'SIGTERM'] as const) process.once(signal, () => stop.abort());
  watchParent(() => stop.abort());
  logger.info({ target: target.baseUrl }, 'simulators running');
  await runDeliveryLoop(db, target, stop.signal, (message) => logger.warn(message));
  await db.close();
  logger.info('simulators stopped');
}

main().catch((error) => {
  process.stderr.write(`simulators failed: ${error instanceof Error ? error.stack : String(error)}\n`);
  process.exit(1);
});
