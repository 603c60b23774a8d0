import { Client } from '@temporalio/client';
import { NativeConnection, Runtime } from '@temporalio/worker';
import { config, waveSettings, workerDatabasePoolSize } from '../config/index.js';
import { temporalConnectConfig } from '../config/temporal.js';
import { registerBusinessCounters } from '../activities/metrics.js';
import { runNotificationDispatcher } from '../activities/notification-dispatcher.js';
import { isDatabaseUnavailable } from '../db/unavailable.js';
import { createDatabase } from '../db/client.js';
import { runDeliveryLoop } from '../simulators/deliveries.js';
import { simulatorTarget } from './simulator-target.js';
import { workerTuning } from './tuning.js';
import { createLogger } from '../platform/logger.js';
import { tracingFromConfig } from '../platform/tracing.js';
import { sdkLogger } from './sdk-logger.js';
import { workerTelemetry } from './telemetry.js';
import { createOrderWorker, simulatedParties } from './create-worker.js';
import { watchParent } from '../platform/parent-watch.js';
import { retryConnect } from './retry-connect.js';
import { ensureReconcileSchedule } from './reconcile-schedule.js';
import { ensureCurrentVersion, workerDeploymentOptions } from './versioning.js';

/**
 * The order worker: connect, run until SIGINT/SIGTERM, then drain and close everything. Beside the
 * Temporal worker it runs the notification dispatcher (customer messages out of the outbox) and,
 * with SIMULATORS, the simulated parties' callbacks; both stop after the worker has drained. It
 * stops the same way when the process that started it is gone.
 */
async function main(): Promise<void> {
  const settings = config();
  // Before anything starts: a wrong TEMPORAL_* or PAYLOAD_ENCRYPTION_* setting ends the process with its name.
  const { connectionOptions, namespace, dataConverter, description } = temporalConnectConfig(settings);
  const logger = createLogger('worker', settings.LOG_LEVEL);
  // Once per process: SDK logs into pino, and one Prometheus endpoint for temporal_* and the business counters.
  Runtime.install({ logger: sdkLogger(logger, settings.LOG_LEVEL), telemetryOptions: workerTelemetry(settings) });
  registerBusinessCounters(Runtime.instance().metricMeter);
  logger.info(
    { metrics: `http://${settings.WORKER_METRICS_HOST}:${settings.WORKER_METRICS_PORT}/metrics` },
    'worker metrics',
  );
  const tracing = tracingFromConfig(settings, 'orders-worker');
  if (!settings.DATABASE_URL) throw new Error('DATABASE_URL is required (npm start sets it for you)');
  const target = settings.SIMULATORS ? simulatorTarget(settings) : null;
  // Sized together: a connection for every activity the worker runs at once (see config).
  const db = createDatabase(settings.DATABASE_URL, { max: workerDatabasePoolSize(settings) });
  logger.info(`Temporal: ${description}`);
  // Temporal restarting (or not up yet) is a wait, not a crash: up to two minutes.
  const connection = await retryConnect(() => NativeConnection.connect(connectionOptions), {
    forMs: 120_000,
    log: (message) => logger.warn(`Temporal: ${message}`),
  });
  // As in the API: a query that lost its connection during a Postgres restart and that nothing
  // awaits must not take the worker down.
  process.on('unhandledRejection', (reason) => {
    if (!isDatabaseUnavailable(reason)) throw reason;
    logger.warn({ err: reason }, 'a query lost its connection (Postgres restarting?)');
  });
  const deployment = workerDeploymentOptions(settings);
  const stopLoops = new AbortController();
  let loops: Promise<unknown> = Promise.resolve();
  try {
    const parties = simulatedParties(db, settings.SIM_DELAY_SCALE, (message, fields) => logger.info(fields, message));
    const worker = await retryConnect(
      () =>
        createOrderWorker({
          connection,
          namespace,
          dataConverter,
          deps: { db, ...parties, waves: waveSettings(settings) },
          tuning: workerTuning(settings),
          tracing,
          // Drain on SIGTERM: activities in flight get 10 s to finish, the whole stop at most 25 s.
          shutdownGraceTime: '10s',
          shutdownForceTime: '25s',
          workerDeploymentOptions: deployment,
        }),
      { forMs: 120_000, log: (message) => logger.warn(`worker: ${message}`) },
    );
    // Whoever started this process is gone (npm start killed with SIGKILL, say): stop as on SIGTERM.
    watchParent(() => {
      logger.warn('parent process gone; draining and stopping');
      worker.shutdown();
      // Orphaned, Temporal or Postgres may be gone too: never outlive the drain by much.
      setTimeout(() => process.exit(1), 40_000).unref();
    });
    const client = new Client({ connection, namespace, dataConverter });
    const schedule = await retryConnect(
      () => ensureReconcileSchedule(client, { every: settings.RECONCILE_EVERY, grace: settings.RECONCILE_GRACE }),
      {
        forMs: 120_000,
        log: (message) => logger.warn(`reconcile-orders schedule: ${message}`),
      },
    );
    logger.info(
      { every: settings.RECONCILE_EVERY, grace: settings.RECONCILE_GRACE },
      `reconcile-orders schedule ${schedule}`,
    );
    loops = Promise.all([
      runNotificationDispatcher({ db, notifier: parties.notifier }, stopLoops.signal, (m) => logger.warn(m)),
      target ? runDeliveryLoop(db, target, stopLoops.signal, (m) => logger.warn(m)) : null,
    ]);
    logger.info({ taskQueue: worker.options.taskQueue, namespace, version: deployment?.version }, 'worker running');
    // Resolves once the SDK's own SIGINT/SIGTERM handling has drained in-flight tasks.
    const running = worker.run();
    // The server learns of this version from the worker's polls, so this runs beside them.
    if (deployment)
      ensureCurrentVersion(client, deployment.version, { mode: settings.WORKER_MAKE_CURRENT }).then(
        ({ outcome, current }) =>
          outcome === 'not-current'
            ? logger.warn(
                { version: deployment.version, current },
                'this build is not the current version: it gets work once ramped or made current (docs/operations.md#safe-deploys)',
              )
            : logger.info({ version: deployment.version }, `worker deployment version ${outcome}`),
        (error: unknown) =>
          logger.error({ err: error, version: deployment.version }, 'could not read or set the current version'),
      );
    await running;
  } finally {
    // The loops finish the round in flight (a send is bounded by its timeout) before the database closes.
    stopLoops.abort();
    await loops;
    await connection.close();
    await db.close();
    await tracing?.shutdown();
    logger.info('worker stopped');
  }
}

main().catch((error) => {
  process.stderr.write(`worker failed: ${error instanceof Error ? error.stack : String(error)}\n`);
  process.exit(1);
});
