import { Client, Connection } from '@temporalio/client';
import { config } from '../config/index.js';
import { temporalConnectConfig } from '../config/temporal.js';
import { createDatabase } from '../db/client.js';
import { OpenTelemetryWorkflowClientInterceptor } from '@temporalio/interceptors-opentelemetry';
import { createLogger } from '../platform/logger.js';
import { tracingFromConfig } from '../platform/tracing.js';
import { createApp } from './app.js';
import { orderPolicyFrom } from './orders/policy.js';
import { watchParent } from '../platform/parent-watch.js';
import { isDatabaseUnavailable } from '../db/unavailable.js';

/** The API process: one database pool and one Temporal client for all requests. */
async function main(): Promise<void> {
  const settings = config();
  // Before anything starts: a wrong TEMPORAL_* or PAYLOAD_ENCRYPTION_* setting ends the process with its name.
  const { connectionOptions, namespace, dataConverter, description } = temporalConnectConfig(settings);
  const logger = createLogger('api', settings.LOG_LEVEL);
  if (!settings.DATABASE_URL) throw new Error('DATABASE_URL is required (npm start sets it for you)');
  // Nothing but the public endpoints would answer without keys: refuse to start rather than run locked.
  if (settings.API_KEYS.length === 0)
    throw new Error('API_KEYS is required: key:role or name=key:role pairs (npm start generates them for you)');
  if (!settings.CARRIER_WEBHOOK_SECRET)
    throw new Error('CARRIER_WEBHOOK_SECRET is required (npm start generates one for you)');
  const db = createDatabase(settings.DATABASE_URL);
  // Connects lazily, so the API comes up (and answers 503) while Temporal is still starting.
  logger.info(`Temporal: ${description}`);
  const connection = Connection.lazy(connectionOptions);
  const tracing = tracingFromConfig(settings, 'orders-api');
  // Carries the request's trace into the workflow start, signals and updates (a no-op without tracing).
  const temporal = new Client({
    connection,
    namespace,
    dataConverter,
    interceptors: { workflow: [new OpenTelemetryWorkflowClientInterceptor()] },
  });
  const app = createApp({
    db,
    temporal,
    auth: { apiKeys: settings.API_KEYS, carrierWebhookSecret: settings.CARRIER_WEBHOOK_SECRET },
    codec: { payloadCodecs: dataConverter.payloadCodecs, corsOrigins: settings.CODEC_CORS_ORIGINS },
    orderPolicy: orderPolicyFrom(settings),
    log: {
      error: (error, message) => logger.error({ err: error }, message),
      info: (fields, message) => logger.info(fields, message),
    },
  });
  // A query whose connection closed under it (a Postgres restart) can reject where nothing awaits
  // it; the chaos run saw the API die of that. It is not a reason to exit; anything else still is.
  process.on('unhandledRejection', (reason) => {
    if (!isDatabaseUnavailable(reason)) throw reason;
    logger.warn({ err: reason }, 'a query lost its connection (Postgres restarting?)');
  });
  const server = app.listen(settings.PORT, () =>
    logger.info(
      { port: settings.PORT, apiKeys: settings.API_KEYS.map((key) => `${key.name} (${key.role})`) },
      'API listening',
    ),
  );
  let stopping = false;
  /** Stops taking requests, lets those in flight finish (10 s at most), then closes Temporal and the pool. */
  const shutdown = () => {
    if (stopping) return;
    stopping = true;
    logger.info('API shutting down');
    const force = setTimeout(() => server.closeAllConnections(), 10_000);
    force.unref();
    // Closing the Temporal connection or the pool must not hang the stop either.
    setTimeout(() => process.exit(1), 20_000).unref();
    server.close(async () => {
      clearTimeout(force);
      await connection.close().catch(() => {});
      await db.close().catch(() => {});
      await tracing?.shutdown();
      logger.info('API stopped');
      process.exit(0);
    });
    // Keep-alive connections with no request in flight would hold close() open.
    server.closeIdleConnections();
  };
  // Whoever started this process is gone (npm start killed with SIGKILL, say): stop as on SIGTERM.
  watchParent(shutdown);
  process.once('SIGINT', shutdown);
  process.once('SIGTERM', shutdown);
}

main().catch((error) => {
  process.stderr.write(`API failed: ${error instanceof Error ? error.stack : String(error)}\n`);
  process.exit(1);
});
