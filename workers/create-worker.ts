import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { Resource } from '@opentelemetry/resources';
import { NoopSpanProcessor } from '@opentelemetry/sdk-trace-base';
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
/** Written by `npm run build` next to the compiled worker; production loads it instead of bundling at start. */
export const workflowBundlePath = fileURLToPath(new URL('../workflow-bundle.js', import.meta.url));

/**
 * The OpenTelemetry workflow interceptors, bundled with the workflows (here and by `npm run build`):
 * a workflow task continues the trace its start (or signal, update) carried in its headers, and an
 * activity it schedules carries the trace on. Their spans leave the sandbox through the `exporter`
 * sink; with tracing off the sink drops them.
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
  /** Where spans go (platform/tracing.ts); unset, tracing is off and workflow spans are dropped. */
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
  const bundled = existsSync(workflowBundlePath);
  return Worker.create({
    connection: options.connection,
    namespace: options.namespace,
    ...(options.dataConverter ? { dataConverter: options.dataConverter } : {}),
    taskQueue: options.taskQueue ?? TASK_QUEUE,
    ...(bundled ? { workflowBundle: { codePath: workflowBundlePath } } : { workflowsPath }),
    activities: createActivities(options.deps),
    interceptors: {
      // A prebuilt bundle has them already (scripts/build-workflow-bundle.ts); naming them again only draws a warning.
      workflowModules: bundled ? [] : workflowInterceptorModules,
      activity: [
        (ctx) => ({
          inbound: new OpenTelemetryActivityInboundInterceptor(ctx),
          outbound: new OpenTelemetryActivityOutboundInterceptor(ctx),
        }),
      ],
    },
    sinks: {
      exporter: makeWorkflowExporter(
        options.tracing?.spanProcessor ?? new NoopSpanProcessor(),
        options.tracing?.resource ?? Resource.empty(),
      ),
    },
    ...(options.maxConcurrentActivityTaskExecutions
      ? { maxConcurrentActivityTaskExecutions: options.maxConcurrentActivityTaskExecutions }
      : {}),
    ...options.tuning,
    ...(options.shutdownGraceTime ? { shutdownGraceTime: options.shutdownGraceTime } : {}),
    ...(options.shutdownForceTime ? { shutdownForceTime: options.shutdownForceTime } : {}),
    ...(options.workerDeploymentOptions ? { workerDeploymentOptions: options.workerDeploymentOptions } : {}),
  });
}
