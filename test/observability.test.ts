import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { InMemorySpanExporter, type ReadableSpan, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { Runtime, Worker } from '@temporalio/worker';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { registerBusinessCounters } from '../activities/metrics.js';
import { orderWorkflowId } from '../domain/ids.js';
import type { OrderPolicy } from '../domain/order.js';
import { startTracing, type Tracing, tracingFromConfig } from '../platform/tracing.js';
import { sdkLogger } from '../workers/sdk-logger.js';
import { workerTelemetry } from '../workers/telemetry.js';
import { testDataConverter } from './support/credentials.js';
import { isolatedProduct } from './support/database.js';
import { orderRequest, PRODUCTION_POLICY } from './support/orders.js';
import { startSystem, type System } from './support/system.js';
import { installRuntime } from './support/temporal.js';
import { workflowBundle } from './support/workers.js';

/**
 * What an operator watches: the API's and a worker's Prometheus metrics (and that deploy/ names
 * only metrics they serve), one trace from `POST /orders` to the activities, and the SDK's logs as
 * pino JSON with the workflow and activity on each line. One system, with the worker's Runtime
 * installed as workers/main.ts installs it, on a free port.
 */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

const policy: OrderPolicy = {
  ...PRODUCTION_POLICY,
  cancellationBuffer: '1s',
  returnWindow: '2s',
  warehouseTaskSla: '1m',
};
const spans = new InMemorySpanExporter();
const logLines: Record<string, unknown>[] = [];
let system: System;
let tracing: Tracing;
let workerMetricsUrl: string;
let orderId: string;

/** The series names in a Prometheus text exposition. */
function seriesNames(exposition: string): Set<string> {
  return new Set(
    exposition
      .split('\n')
      .filter((line) => line && !line.startsWith('#'))
      .map((line) => line.split(/[{ ]/)[0]!),
  );
}

/**
 * The metric names a PromQL expression reads: identifiers outside label matchers and grouping
 * clauses that are not functions, keywords or durations. (`up` is Prometheus' own, not a target's.)
 */
function metricsIn(expr: string): string[] {
  const stripped = expr
    .replace(/\{[^}]*\}/g, ' ')
    .replace(/\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, ' ')
    .replace(/\[[^\]]*\]/g, ' ')
    .replace(/"[^"]*"/g, ' ');
  const keywords = new Set(['and', 'or', 'unless', 'bool', 'offset', 'up']);
  return [...stripped.matchAll(/([a-zA-Z_:][a-zA-Z0-9_:]*)(\s*\()?/g)]
    .filter((m) => !m[2]) // a function call
    .map((m) => m[1]!)
    .filter((name) => !keywords.has(name) && name.includes('_'));
}

/** Every expression in deploy/: alert rules (YAML `expr:`) and the dashboard's panel targets. */
function deployExpressions(): string[] {
  const rules = readFileSync(new URL('../deploy/prometheus/alerts.yml', import.meta.url), 'utf8');
  const fromRules = [...rules.matchAll(/^\s*expr:\s*(.+)$/gm)].map((m) => m[1]!.replace(/^['"]|['"]$/g, ''));
  const dashboard = JSON.parse(
    readFileSync(new URL('../deploy/grafana/order-fulfillment.json', import.meta.url), 'utf8'),
  ) as { panels: { targets?: { expr: string }[] }[] };
  return [...fromRules, ...dashboard.panels.flatMap((panel) => (panel.targets ?? []).map((target) => target.expr))];
}

beforeAll(async () => {
  const port = await freePort();
  workerMetricsUrl = `http://127.0.0.1:${port}/metrics`;
  const logger = pino(
    { level: 'debug' },
    { write: (line: string) => void logLines.push(JSON.parse(line) as Record<string, unknown>) },
  );
  installRuntime({
    logger: sdkLogger(logger, 'debug'),
    telemetryOptions: workerTelemetry({ WORKER_METRICS_HOST: '127.0.0.1', WORKER_METRICS_PORT: port }),
  });
  registerBusinessCounters(Runtime.instance().metricMeter);
  tracing = startTracing('orders-test', spans, (exporter) => new SimpleSpanProcessor(exporter));
  system = await startSystem({ policy, tracing });
  const sku = await isolatedProduct(system.db, { 'wh-east': 5 }, 1500);
  const request = orderRequest({ items: [{ sku, quantity: 1 }] });
  orderId = request.orderId;
  expect((await system.api('POST', '/orders', request, { as: 'service' })).status).toBe(202);
  await system.waitForOrder(orderId, (status) => status === 'completed', 45_000);
});

afterAll(async () => {
  await system?.stop();
  await tracing?.shutdown();
});

describe('metrics', () => {
  it('serves the API metrics to the monitoring role and admins only', async () => {
    const scraped = await system.api('GET', '/metrics', undefined, { as: 'monitoring' });
    expect(scraped.status).toBe(200);
    expect(scraped.type).toMatch(/^text\/plain/);
    expect(scraped.body).toMatch(/^orders_accepted_total\{channel="web"\} [1-9]/m);
    expect(scraped.body).toMatch(
      /^http_request_duration_seconds_bucket\{.*route="\/orders\/\{orderId\}".*status="200"/m,
    );
    expect(scraped.body).toMatch(/^orders_by_status\{status="completed"\} [1-9]/m);
    expect((await system.api('GET', '/metrics', undefined, { as: 'admin' })).status).toBe(200);
    expect((await system.api('GET', '/metrics', undefined, { as: 'service' })).status).toBe(403);
    expect((await system.api('GET', '/metrics', undefined, { as: 'anonymous' })).status).toBe(401);
    // The refusals above are counted by reason.
    const after = (await system.api('GET', '/metrics', undefined, { as: 'monitoring' })).body as string;
    expect(after).toMatch(/^http_requests_rejected_total\{route="\/metrics",status="403",reason="Forbidden"\} 1/m);
  });

  it('counts replays and refused webhook signatures', async () => {
    const key = { 'idempotency-key': `replay-${orderId}` };
    await system.api('POST', `/orders/${orderId}/retry`, undefined, { headers: key });
    expect(
      (await system.api('POST', `/orders/${orderId}/retry`, undefined, { headers: key })).headers.get(
        'idempotent-replayed',
      ),
    ).toBe('true');
    expect(
      (
        await system.carrierWebhook(
          'parcelpost',
          { trackingNumber: 'PP0', type: 'in_transit', at: new Date().toISOString() },
          { secret: 'x'.repeat(40) },
        )
      ).status,
    ).toBe(401);
    const body = (await system.api('GET', '/metrics', undefined, { as: 'monitoring' })).body as string;
    expect(body).toMatch(/^idempotent_replays_total\{route="\/orders\/\{orderId\}\/retry"\} 1/m);
    expect(body).toMatch(/^webhook_signature_failures_total 1/m);
  });

  it("serves the SDK's temporal_* metrics and the business counters on the worker's port", async () => {
    const names = seriesNames(await (await fetch(workerMetricsUrl)).text());
    for (const name of [
      'temporal_workflow_task_schedule_to_start_latency_seconds_bucket',
      'temporal_activity_execution_latency_seconds_bucket',
      'temporal_sticky_cache_size',
      'temporal_worker_task_slots_available',
      'order_captures_total',
      'order_refunds_total',
      'order_reships_total',
      'orders_parked_total',
      'oversell_refused_total',
    ]) {
      expect(names, name).toContain(name);
    }
  });

  it('names in deploy/ only metrics the API and the worker serve', async () => {
    const api = seriesNames((await system.api('GET', '/metrics', undefined, { as: 'monitoring' })).body as string);
    const worker = seriesNames(await (await fetch(workerMetricsUrl)).text());
    const named = [...new Set(deployExpressions().flatMap(metricsIn))];
    expect(named.length).toBeGreaterThan(8);
    expect(named.filter((name) => !api.has(name) && !worker.has(name))).toEqual([]);
  });
});

describe('tracing', () => {
  it('is off without an OTLP endpoint, and with OTEL_TRACES_EXPORTER=none', () => {
    expect(tracingFromConfig({}, 'orders-api')).toBeNull();
    expect(
      tracingFromConfig(
        { OTEL_EXPORTER_OTLP_ENDPOINT: 'http://127.0.0.1:4318', OTEL_TRACES_EXPORTER: 'none' },
        'orders-api',
      ),
    ).toBeNull();
  });

  it('runs one trace from POST /orders through the workflow start, its workflow tasks and its activities', async () => {
    const finished = spans.getFinishedSpans();
    const byId = new Map(finished.map((span) => [span.spanContext().spanId, span]));
    const parentOf = (span: ReadableSpan) => (span.parentSpanId ? byId.get(span.parentSpanId) : undefined);
    const root = finished.find(
      (span) => span.name === 'POST /orders' && span.attributes['http.response.status_code'] === 202,
    );
    expect(root, finished.map((s) => s.name).join(', ')).toBeDefined();
    const trace = finished.filter((span) => span.spanContext().traceId === root!.spanContext().traceId);

    const start = trace.find((span) => span.name === 'StartWorkflow:orderWorkflow');
    expect(parentOf(start!)).toBe(root);
    const run = trace.find((span) => span.name === 'RunWorkflow:orderWorkflow');
    expect(parentOf(run!)).toBe(start);
    const capture = trace.find((span) => span.name === 'RunActivity:capturePayment');
    const scheduled = parentOf(capture!);
    expect(scheduled?.name).toBe('StartActivity:capturePayment');
    expect(parentOf(scheduled!)).toBe(run);
  });

  it('leaves the histories a tracing worker wrote replayable without the tracing interceptors, so tracing can go off with orders running', async () => {
    // The worker here traced; the tests' bundle has no tracing interceptors, as a worker without OTEL_* runs.
    // Its only shipment ran inside the order's workflow (Patch.LoneShipmentInOrder): one history holds every step.
    for (const workflowId of [orderWorkflowId(orderId)]) {
      const history = await system.env.client.workflow.getHandle(workflowId).fetchHistory();
      await Worker.runReplayHistory(
        { workflowBundle: await workflowBundle(), dataConverter: testDataConverter },
        history,
        workflowId,
      );
    }
  });
});

describe('logs', () => {
  it('writes the SDK logs as pino JSON with the workflow on workflow lines and the activity and attempt on activity lines', () => {
    const workflowLine = logLines.find(
      (line) => line.msg === 'Workflow started' && line.workflowId === `order-${orderId}`,
    );
    expect(workflowLine).toMatchObject({
      runId: expect.any(String),
      workflowType: 'orderWorkflow',
      namespace: 'default',
      taskQueue: 'order-fulfillment',
    });
    const activityLine = logLines.find(
      (line) =>
        line.msg === 'Activity started' &&
        line.workflowId === `order-${orderId}` &&
        line.activityType === 'capturePayment',
    );
    expect(activityLine).toMatchObject({
      workflowRunId: workflowLine!.runId,
      attempt: 1,
      level: 20,
      activityId: expect.any(String),
    });
    // The task token completes the task on Temporal's side: not for logs.
    expect(logLines.filter((line) => 'taskToken' in line)).toEqual([]);
  });
});
