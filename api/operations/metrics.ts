import { Router, type RequestHandler } from 'express';
import { sql } from 'drizzle-orm';
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';
import type { Database } from '../../db/client.js';
import { operationFor } from '../contract.js';

/**
 * The API's Prometheus metrics (`GET /metrics`). One registry per app, so tests that build several
 * apps in one process never share counters. Labels are bounded: the route is the contract's path
 * template (`/orders/{orderId}`), never the raw path, and a reason is a problem title from the
 * failure catalogue. deploy/ names these metrics; test/observability.test.ts holds them to it.
 */
export class ApiMetrics {
  readonly registry = new Registry();

  readonly requestDuration = new Histogram({
    name: 'http_request_duration_seconds',
    help: 'API request duration by route (the contract path template) and status.',
    labelNames: ['method', 'route', 'status'] as const,
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
    registers: [this.registry],
  });

  readonly ordersAccepted = new Counter({
    name: 'orders_accepted_total',
    help: 'Orders accepted by POST /orders (202: a workflow started), by channel.',
    labelNames: ['channel'] as const,
    registers: [this.registry],
  });

  readonly requestsRejected = new Counter({
    name: 'http_requests_rejected_total',
    help: 'Requests answered with a problem (4xx/5xx), by route and reason (the problem title).',
    labelNames: ['route', 'status', 'reason'] as const,
    registers: [this.registry],
  });

  readonly webhookSignatureFailures = new Counter({
    name: 'webhook_signature_failures_total',
    help: 'Carrier webhooks refused for a bad, missing or stale signature.',
    registers: [this.registry],
  });

  readonly idempotentReplays = new Counter({
    name: 'idempotent_replays_total',
    help: 'Requests answered from a stored first response (Idempotent-Replayed: true), by route.',
    labelNames: ['route'] as const,
    registers: [this.registry],
  });

  constructor(db?: Database) {
    collectDefaultMetrics({ register: this.registry });
    if (db) this.readModelGauges(db);
  }

  /** Orders by status and the age of the oldest in each, read from the read model at scrape time. */
  private readModelGauges(db: Database): void {
    // Both gauges share one query per scrape.
    const byStatus: Gauge<'status'> = new Gauge({
      name: 'orders_by_status',
      help: 'Orders in the read model by current status.',
      labelNames: ['status'] as const,
      registers: [this.registry],
      collect: () => refresh(),
    });
    const oldest: Gauge<'status'> = new Gauge({
      name: 'orders_oldest_in_status_seconds',
      collect: () => refresh(),
      help: 'Seconds since the least recently updated order in each status changed: how long the oldest has been stuck there.',
      labelNames: ['status'] as const,
      registers: [this.registry],
    });
    let scrape: Promise<void> | null = null;
    const refresh = (): Promise<void> =>
      (scrape ??= (async () => {
        try {
          const rows = (await db.execute(
            sql`select status, count(*)::int as count, extract(epoch from now() - min(updated_at))::float as oldest from orders group by status`,
          )) as unknown as {
            status: string;
            count: number;
            oldest: number;
          }[];
          byStatus.reset();
          oldest.reset();
          for (const row of rows) {
            byStatus.set({ status: row.status }, row.count);
            oldest.set({ status: row.status }, row.oldest);
          }
        } finally {
          scrape = null;
        }
      })());
  }

  /** Times every request and counts what it was answered with. */
  observe(): RequestHandler {
    return (req, res, next) => {
      const stop = this.requestDuration.startTimer();
      res.on('finish', () => {
        const match = operationFor(req.method, req.path);
        const route = match && 'operation' in match ? match.operation.path : 'unmatched';
        const status = String(res.statusCode);
        stop({ method: req.method, route, status });
        if (res.get('idempotent-replayed') === 'true') this.idempotentReplays.inc({ route });
        else if (route === '/orders' && req.method === 'POST' && res.statusCode === 202) {
          const channel = (req.body as { channel?: unknown } | undefined)?.channel;
          this.ordersAccepted.inc({ channel: typeof channel === 'string' ? channel : 'unknown' });
        }
        if (res.statusCode >= 400) {
          const reason = typeof res.locals.problem === 'string' ? res.locals.problem : 'unknown';
          this.requestsRejected.inc({ route, status, reason });
          if (route === '/carriers/{carrier}/events' && res.statusCode === 401) this.webhookSignatureFailures.inc();
        }
      });
      next();
    };
  }

  router(): Router {
    const router = Router();
    router.get('/metrics', async (_req, res) => {
      res.set('content-type', this.registry.contentType).send(await this.registry.metrics());
    });
    return router;
  }
}
