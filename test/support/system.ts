import type { Server } from 'node:http';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import type { Worker } from '@temporalio/worker';
import { createApp } from '../../api/app.js';
import type { Database } from '../../db/client.js';
import type { OrderPolicy, OrderView } from '../../domain/order.js';
import { runDeliveryLoop } from '../../simulators/deliveries.js';
import { createSimulatedCarriers } from '../../simulators/carriers.js';
import { createLoggingNotifier } from '../../simulators/notifier.js';
import { createSimulatedPaymentGateway } from '../../simulators/payment-gateway.js';
import { createSimulatedWarehouse } from '../../simulators/warehouse.js';
import { createOrderWorker } from '../../workers/create-worker.js';
import { testDatabase } from './database.js';
import { devServerEnvironment } from './temporal.js';

/**
 * The whole system on real servers for end-to-end tests: a Temporal dev server, the worker, the
 * API on a port of its own, the run's Postgres, and the simulated parties calling the API's
 * webhooks. Simulator delays are set per party so a test can spread orders over their stages.
 */
export async function startSystem(options: { policy: OrderPolicy; warehouseDelayScale?: number; carrierDelayScale?: number }) {
  const env: TestWorkflowEnvironment = await devServerEnvironment();
  const db: Database = await testDatabase();
  const app = createApp({ db, temporal: env.client, orderPolicy: options.policy, log: { error: (e, m) => console.error(m, e), info: () => {} } });
  const server = await new Promise<Server>((resolve) => {
    const listening = app.listen(0, '127.0.0.1', () => resolve(listening));
  });
  const baseUrl = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
  const worker: Worker = await createOrderWorker({
    connection: env.nativeConnection,
    namespace: env.namespace ?? 'default',
    deps: {
      db,
      payments: createSimulatedPaymentGateway({ delayScale: 0 }),
      warehouse: createSimulatedWarehouse({ db, delayScale: options.warehouseDelayScale ?? 0 }),
      carriers: createSimulatedCarriers({ db, delayScale: options.carrierDelayScale ?? 0 }),
      notifier: createLoggingNotifier(() => {}),
    },
  });
  const running = worker.run();
  const stopSimulators = new AbortController();
  const simulators = runDeliveryLoop(db, baseUrl, stopSimulators.signal, (m) => console.error(m));

  async function api(method: string, path: string, body?: unknown) {
    const response = await fetch(`${baseUrl}${path}`, {
      method,
      headers: body === undefined ? {} : { 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await response.text();
    // eslint-disable-next-line @typescript-eslint/no-explicit-any
    return { status: response.status, type: response.headers.get('content-type') ?? '', body: text ? (JSON.parse(text) as any) : undefined };
  }

  /** Polls the read model until the order's status satisfies `done`. */
  async function waitForOrder(orderId: string, done: (status: string) => boolean, timeoutMs = 60_000): Promise<OrderView> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const { body } = await api('GET', `/orders/${orderId}`);
      if (body && done(body.status)) return body as OrderView;
      if (Date.now() > deadline) throw new Error(`order ${orderId} stuck at ${body?.status}: ${JSON.stringify(body?.timeline?.map((e: { type: string }) => e.type))}`);
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
  }

  async function stop(): Promise<void> {
    stopSimulators.abort();
    await simulators;
    worker.shutdown();
    await running;
    await new Promise((resolve) => server.close(resolve));
    await env.teardown();
    await db.close();
  }

  return { env, db, api, waitForOrder, baseUrl, stop };
}

export type System = Awaited<ReturnType<typeof startSystem>>;
