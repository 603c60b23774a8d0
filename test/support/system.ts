import type { Server } from 'node:http';
import express from 'express';
import { Client } from '@temporalio/client';
import { OpenTelemetryWorkflowClientInterceptor } from '@temporalio/interceptors-opentelemetry';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import type { Worker, WorkerDeploymentOptions } from '@temporalio/worker';
import type { ActivityDependencies } from '../../activities/deps.js';
import type { Carriers, PaymentGateway, WarehouseSystem } from '../../activities/ports.js';
import { createApp } from '../../api/app.js';
import { signWebhook } from '../../platform/credentials.js';
import type { Database } from '../../db/client.js';
import type { OrderPolicy, OrderView } from '../../domain/order.js';
import { runNotificationDispatcher } from '../../activities/notification-dispatcher.js';
import { runDeliveryLoop } from '../../simulators/deliveries.js';
import { createSimulatedCarriers } from '../../simulators/carriers.js';
import { createLoggingNotifier } from '../../simulators/notifier.js';
import { createSimulatedPaymentGateway } from '../../simulators/payment-gateway.js';
import { createSimulatedWarehouse } from '../../simulators/warehouse.js';
import type { Tracing } from '../../platform/tracing.js';
import { createOrderWorker } from '../../workers/create-worker.js';
import { assertConforms } from './contract.js';
import {
  type Caller,
  credentialHeaders,
  TEST_CARRIER_SECRET,
  TEST_KEYS,
  TEST_WEB_ORIGIN,
  testAuth,
  testDataConverter,
} from './credentials.js';
import { testDatabase } from './database.js';
import { devServerEnvironment } from './temporal.js';

/**
 * The whole system on real servers for end-to-end tests: a Temporal dev server, the worker, the
 * API on a port of its own, the run's Postgres, and the simulated parties calling the API's
 * webhooks. Simulator delays are set per party so a test can spread orders over their stages.
 */
export interface Observed {
  method: string;
  path: string;
  status: number;
  body: unknown;
}

export async function startSystem(options: {
  policy: OrderPolicy;
  warehouseDelayScale?: number;
  carrierDelayScale?: number;
  /** Wrap the simulated carriers or payment gateway, e.g. to slow one call down. */
  carriers?: (simulated: Carriers) => Carriers;
  payments?: (simulated: PaymentGateway) => PaymentGateway;
  /** Wrap the simulated warehouse, e.g. to see in which order it is asked to pick. */
  warehouse?: (simulated: WarehouseSystem) => WarehouseSystem;
  /** Activities the worker runs at once (the SDK's default unless set): 1 makes a backlog of any flood. */
  maxConcurrentActivityTaskExecutions?: number;
  /** How long the API waits on a workflow update before it answers 503 (30 s unless set). */
  temporalUpdateDeadlineMs?: number;
  observe?: (answer: Observed) => void;
  /** Trace as the processes do: the API's client and the worker carry the trace to these spans. */
  tracing?: Tracing;
  /** A versioned worker (workers/versioning.ts); unset, unversioned. */
  workerDeploymentOptions?: WorkerDeploymentOptions;
  /** `false`: no order worker; the test runs its own on the task queue, with `deps`. */
  worker?: boolean;
  /** How warehouses release waves (the worker's `WAVE_*` settings); unset: the configuration's defaults. */
  waves?: ActivityDependencies['waves'];
}) {
  // Payloads encrypted as in production: the client, the worker and `/codec/*` share one codec.
  const env: TestWorkflowEnvironment = await devServerEnvironment({ dataConverter: testDataConverter });
  const db: Database = await testDatabase();
  const app = createApp({
    db,
    temporal: options.tracing
      ? new Client({
          connection: env.connection,
          namespace: env.namespace ?? 'default',
          dataConverter: testDataConverter,
          interceptors: { workflow: [new OpenTelemetryWorkflowClientInterceptor()] },
        })
      : env.client,
    auth: testAuth,
    codec: { payloadCodecs: testDataConverter.payloadCodecs, corsOrigins: [TEST_WEB_ORIGIN] },
    orderPolicy: options.policy,
    temporalUpdateDeadlineMs: options.temporalUpdateDeadlineMs,
    log: { error: (e, m) => console.error(m, e), info: () => {} },
  });
  // A test may watch every answer (with the parsed body of its request).
  const observed = express();
  observed.use((req, res, next) => {
    res.on('finish', () =>
      options.observe?.({ method: req.method, path: req.path, status: res.statusCode, body: req.body as unknown }),
    );
    next();
  });
  observed.use(app);
  const server = await new Promise<Server>((resolve) => {
    const listening = observed.listen(0, '127.0.0.1', () => resolve(listening));
  });
  const baseUrl = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
  // What the customer's mail provider accepted, by idempotency key, in order; `notifier.setDown` stages an outage.
  const notices: string[] = [];
  const notifier = createLoggingNotifier((_message, fields) => notices.push(String(fields.idempotencyKey)));
  const deps: ActivityDependencies = {
    db,
    payments: (options.payments ?? ((simulated) => simulated))(createSimulatedPaymentGateway({ db, delayScale: 0 })),
    warehouse: (options.warehouse ?? ((simulated) => simulated))(
      createSimulatedWarehouse({ db, delayScale: options.warehouseDelayScale ?? 0 }),
    ),
    carriers: (options.carriers ?? ((simulated) => simulated))(
      createSimulatedCarriers({ db, delayScale: options.carrierDelayScale ?? 0 }),
    ),
    notifier,
    ...(options.waves ? { waves: options.waves } : {}),
  };
  const worker: Worker | null =
    options.worker === false
      ? null
      : await createOrderWorker({
          connection: env.nativeConnection,
          namespace: env.namespace ?? 'default',
          dataConverter: testDataConverter,
          deps,
          tracing: options.tracing,
          workerDeploymentOptions: options.workerDeploymentOptions,
          maxConcurrentActivityTaskExecutions: options.maxConcurrentActivityTaskExecutions,
        });
  const running = worker?.run();
  let firstWorkerStopped = false;

  /** The system's first worker drains and stops (as a deploy retires the old build's workers). */
  async function stopFirstWorker(): Promise<void> {
    if (firstWorkerStopped || !worker) return;
    firstWorkerStopped = true;
    worker.shutdown();
    await running;
  }

  /** Another worker process beside the first, with the same parties (a new build, in a rollout). */
  async function startWorker(workerDeploymentOptions?: WorkerDeploymentOptions) {
    const another = await createOrderWorker({
      connection: env.nativeConnection,
      namespace: env.namespace ?? 'default',
      dataConverter: testDataConverter,
      deps,
      tracing: options.tracing,
      workerDeploymentOptions,
    });
    const run = another.run();
    extraWorkers.push(async () => {
      if (another.getState() === 'RUNNING') another.shutdown();
      await run;
    });
    return another;
  }
  const extraWorkers: (() => Promise<void>)[] = [];
  const stopSimulators = new AbortController();
  // The simulated warehouse calls with its warehouse key; the carriers sign with the shared secret.
  const target = { baseUrl, apiKey: TEST_KEYS.warehouse, carrierWebhookSecret: TEST_CARRIER_SECRET };
  const simulators = runDeliveryLoop(db, target, stopSimulators.signal, (m) => console.error(m));
  // Customer messages leave the outbox as in a worker process, retried quickly after an outage.
  const dispatcher = runNotificationDispatcher({ db, notifier }, stopSimulators.signal, (m) => console.error(m), {
    idleMs: 100,
    backoff: { initialMs: 200, maxMs: 1_000 },
  });

  /**
   * Calls the API as an admin unless told otherwise (`as`: a role, or `anonymous` for no
   * credential); every answer is checked against the OpenAPI contract.
   */
  async function api(
    method: string,
    path: string,
    body?: unknown,
    options: { as?: Caller; headers?: Record<string, string> } = {},
  ) {
    const response = await fetch(`${baseUrl}${path}`, {
      method,
      headers: {
        ...credentialHeaders(options.as ?? 'admin'),
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
        ...options.headers,
      },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await response.text();
    const type = response.headers.get('content-type') ?? '';
    // eslint-disable-next-line @typescript-eslint/no-explicit-any
    const parsed = text && /json/.test(type) ? (JSON.parse(text) as any) : text || undefined;
    assertConforms(method, path, response.status, type, parsed);
    return { status: response.status, type, headers: response.headers, body: parsed };
  }

  /**
   * Posts a carrier webhook signed as a carrier signs it; `secret`, `signedAt` and `tamper` let a
   * test send a wrongly signed, stale or altered one.
   */
  async function carrierWebhook(
    carrier: string,
    event: object,
    options: { secret?: string; signedAt?: Date; tamper?: (body: string) => string } = {},
  ) {
    const body = JSON.stringify(event);
    const signature = signWebhook(options.secret ?? TEST_CARRIER_SECRET, body, options.signedAt ?? new Date());
    const path = `/carriers/${carrier}/events`;
    const response = await fetch(`${baseUrl}${path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...signature },
      body: options.tamper ? options.tamper(body) : body,
    });
    const type = response.headers.get('content-type') ?? '';
    // eslint-disable-next-line @typescript-eslint/no-explicit-any
    const parsed = (await response.json()) as any;
    assertConforms('POST', path, response.status, type, parsed);
    return { status: response.status, type, body: parsed };
  }

  /** Polls the read model until the order's status satisfies `done`. */
  async function waitForOrder(
    orderId: string,
    done: (status: string) => boolean,
    timeoutMs = 60_000,
  ): Promise<OrderView> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const { body } = await api('GET', `/orders/${orderId}`);
      if (body && done(body.status)) return body as OrderView;
      if (Date.now() > deadline)
        throw new Error(
          `order ${orderId} stuck at ${body?.status}: ${JSON.stringify(body?.timeline?.map((e: { type: string }) => e.type))}`,
        );
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
  }

  async function stop(): Promise<void> {
    stopSimulators.abort();
    await Promise.all([simulators, dispatcher]);
    await Promise.all([stopFirstWorker(), ...extraWorkers.map((stopWorker) => stopWorker())]);
    await new Promise((resolve) => server.close(resolve));
    await env.teardown();
    await db.close();
  }

  return {
    env,
    db,
    deps,
    api,
    carrierWebhook,
    waitForOrder,
    baseUrl,
    target,
    notifier,
    notices,
    startWorker,
    stopFirstWorker,
    stop,
  };
}

export type System = Awaited<ReturnType<typeof startSystem>>;
