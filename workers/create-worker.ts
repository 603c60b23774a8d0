import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import {
  makeWorkflowExporter,
  OpenTelemetryActivityInboundInterceptor,
  OpenTelemetryActivityOutboundInterceptor,
} from '@temporalio/interceptors-opentelemetry';
import type { DataConverter, Duration } from '@temporalio/common';
import { type NativeConnection, Worker, type WorkerDeploymentOptions } from '@temporalio/worker';
import type { Tracing } from '../platform/tracing.js';
import { createActivities } from '../activities/index.js';
import type { ActivityDependencies } from '../activities/deps.js';
import type { Database } from '../db/client.js';
import { TASK_QUEUE } from '../domain/ids.js';
import { createSimulatedCarriers } from '../simulators/carriers.js';
import { createLoggingNotifier } from '../simulators/notifier.js';
import { createSimulatedPaymentGateway } from '../simulators/payment-gateway.js';
import type { WorkerTuning } from './tuning.js';
import { createSimulatedWarehouse } from '../simulators/warehouse.js';

// Run from source by tsx in development, from dist/ once compiled.
const compiled = import.meta.url.endsWith('.js');
export const workflowsPath = fileURLToPath(new URL(`../workflows/index.${compiled ? 'js' : 'ts'}`, import.meta.url));
/**
 * Written by `npm run build` next to the compiled worker; production loads one instead of bundling
 * at start: the plain bundle, or with tracing on the one with the OpenTelemetry interceptors.
 */
export const workflowBundlePaths = {
  plain: fileURLToPath(new URL('../workflow-bundle.js', import.meta.url)),
  traced: fileURLToPath(new URL('../workflow-bundle-traced.js', import.meta.url)),
};

/**
 * The OpenTelemetry workflow interceptors, bundled with the workflows only when the worker traces:
 * a workflow task continues the trace its start (or signal, update) carried in its headers, and an
 * activity it schedules carries the trace on. Their spans leave the sandbox through the `exporter`
 * sink.
 *
 * Why only then: their context manager is an `AsyncLocalStorage` per cached workflow, and on Node 20
 * every enabled one tags every promise the worker creates (sdk-typescript#1432). 500 cached orders
 * meant 500 tags on each promise: the worker's memory grew with the square of its cache (past
 * 1 GiB at ~300 cached orders a worker, `npm run soak`) and its CPU per order with the cache.
 * Without them a cached order costs 0.3–0.4 MB. They add no command (the SDK flags that gate their
 * yield points are set on every history this SDK writes), so a worker may start or stop tracing
 * with orders running: test/observability.test.ts replays a traced order without them.
 */
export const workflowInterceptorModules = [
  createRequire(import.meta.url).resolve('@temporalio/interceptors-opentelemetry/lib/workflow-interceptors'),
];

/** The external parties, played by the built-in simulators. A real deployment swaps adapters here. */
export function simulatedParties(
  db: Database,
  delayScale: number,
  log: (message: string, fields: Record<string, unknown>) => void,
) {
  return {
    payments: createSimulatedPaymentGateway({ db, delayScale }),
    warehouse: createSimulatedWarehouse({ db, delayScale }),
    carriers: createSimulatedCarriers({ db, delayScale }),
    notifier: createLoggingNotifier(log),
  };
}

export async function createOrderWorker(options: {
  connection: NativeConnection;
  namespace: string;
  /** The payload codec (config/temporal.ts), the same as the clients': histories are encrypted. */
  dataConverter?: DataConverter;
  deps: ActivityDependencies;
  taskQueue?: string;
  /**
   * Activities run at once; keep it at most the database pool's size less what else uses the pool
   * (`workerDatabasePoolSize` in config), or activities wait for connections. Default: the SDK's.
   */
  maxConcurrentActivityTaskExecutions?: number;
  /** Slots, pollers, sticky cache or the resource-based tuner (workers/tuning.ts); wins over `maxConcurrentActivityTaskExecutions`. */
  tuning?: WorkerTuning;
  /** Where spans go (platform/tracing.ts); unset, tracing is off and the workflows run without its interceptors. */
  tracing?: Pick<Tracing, 'spanProcessor' | 'resource'> | null;
  /**
   * On SIGINT/SIGTERM the worker stops polling and gives in-flight activities this long to finish
   * before cancelling them (default: none, the SDK's), and gives up after `shutdownForceTime`.
   */
  shutdownGraceTime?: Duration;
  shutdownForceTime?: Duration;
  /** Worker deployment versioning (workers/versioning.ts); unset, an unversioned worker (the tests' default). */
  workerDeploymentOptions?: WorkerDeploymentOptions;
}): Promise<Worker> {
  const traced = Boolean(options.tracing);
  const bundlePath = traced ? workflowBundlePaths.traced : workflowBundlePaths.plain;
  const bundled = existsSync(bundlePath);
  return Worker.create({
    connection: options.connection,
    namespace: options.namespace,
    ...(options.dataConverter ? { dataConverter: options.dataConverter } : {}),
    taskQueue: options.taskQueue ?? TASK_QUEUE,
    ...(bundled ? { workflowBundle: { codePath: bundlePath } } : { workflowsPath }),
    activities: createActivities(options.deps),
    interceptors: {
      // A prebuilt traced bundle has them already (scripts/build-workflow-bundle.ts); naming them again only draws a warning.
      workflowModules: traced && !bundled ? workflowInterceptorModules : [],
      activity: [
        (ctx) => ({
          inbound: new OpenTelemetryActivityInboundInterceptor(ctx),
          outbound: new OpenTelemetryActivityOutboundInterceptor(ctx),
        }),
      ],
    },
    ...(options.tracing
      ? { sinks: { exporter: makeWorkflowExporter(options.tracing.spanProcessor, options.tracing.resource) } }
      : {}),
    ...(options.maxConcurrentActivityTaskExecutions
      ? { maxConcurrentActivityTaskExecutions: options.maxConcurrentActivityTaskExecutions }
      : {}),
    ...options.tuning,
    ...(options.shutdownGraceTime ? { shutdownGraceTime: options.shutdownGraceTime } : {}),
    ...(options.shutdownForceTime ? { shutdownForceTime: options.shutdownForceTime } : {}),
    ...(options.workerDeploymentOptions ? { workerDeploymentOptions: options.workerDeploymentOptions } : {}),
  });
}
