import { Client, Connection } from '@temporalio/client';
import { config } from '../config/index.js';
import { createDatabase } from '../db/client.js';
import { createLogger } from '../workers/logger.js';
import { createApp } from './app.js';
import { orderPolicyFrom } from './policy.js';

/** The API process: one database pool and one Temporal client for all requests. */
async function main(): Promise<void> {
  const settings = config();
  const logger = createLogger('api', settings.LOG_LEVEL);
  if (!settings.DATABASE_URL) throw new Error('DATABASE_URL is required (npm start sets it for you)');
  const db = createDatabase(settings.DATABASE_URL);
  // Connects lazily, so the API comes up (and answers 503) while Temporal is still starting.
  const connection = Connection.lazy({ address: settings.TEMPORAL_ADDRESS ?? '127.0.0.1:7233' });
  const temporal = new Client({ connection, namespace: settings.TEMPORAL_NAMESPACE });
  const app = createApp({
    db,
    temporal,
    orderPolicy: orderPolicyFrom(settings),
    log: { error: (error, message) => logger.error({ err: error }, message), info: (fields, message) => logger.info(fields, message) },
  });
  const server = app.listen(settings.PORT, () => logger.info({ port: settings.PORT }, 'API listening'));
  const shutdown = () => {
    logger.info('API shutting down');
    server.close(async () => {
      await connection.close();
      await db.close();
      process.exit(0);
    });
  };
  process.once('SIGINT', shutdown);
  process.once('SIGTERM', shutdown);
}

main().catch((error) => {
  process.stderr.write(`API failed: ${error instanceof Error ? error.stack : String(error)}\n`);
  process.exit(1);
});
