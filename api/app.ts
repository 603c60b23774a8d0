import { randomUUID } from 'node:crypto';
import express, { type Express, type RequestHandler } from 'express';
import { MULTI_LINE_TEXT, SINGLE_LINE_TEXT } from '../domain/schemas.js';
import { callerId } from './http/actor.js';
import { accessControl, BODY_LIMIT, requireJsonBody } from './http/auth.js';
import { catalogRouter } from './inventory/catalog.js';
import type { ApiContext } from './context.js';
import { codecCors, codecRouter } from './operations/codec.js';
import { docsRouter } from './operations/docs.js';
import { eventsRouter } from './webhooks/events.js';
import { healthRouter } from './operations/health.js';
import { ApiMetrics } from './operations/metrics.js';
import { traceRequests } from './http/tracing.js';
import { idempotency } from './http/idempotency.js';
import { inventoryRouter } from './inventory/inventory.js';
import { ordersRouter } from './orders/orders.js';
import { dashboardRouter } from './reports/dashboard.js';
import { kpisRouter } from './reports/kpis.js';
import { reportsRouter } from './reports/reports.js';
import { returnsRouter } from './returns/returns.js';
import { wavesRouter } from './waves/waves.js';
import { errorHandler, fieldPath, problem, sendProblem } from './http/problem.js';

const SECURITY_HEADERS = {
  'x-content-type-options': 'nosniff',
  'cache-control': 'no-store',
  'content-security-policy': "default-src 'none'; frame-ancestors 'none'",
  'x-frame-options': 'DENY',
  'referrer-policy': 'no-referrer',
  'cross-origin-opener-policy': 'same-origin',
  'cross-origin-resource-policy': 'same-origin',
  'strict-transport-security': 'max-age=31536000; includeSubDomains',
};

/** A caller's request ID is echoed if it is a plain token; anything else gets a fresh one. */
const REQUEST_ID = /^[A-Za-z0-9._:-]{1,100}$/;

/** Request ID (echoed and logged), security headers, one log line per request with who asked. */
function requestContext(context: ApiContext): RequestHandler {
  return (req, res, next) => {
    const offered = req.get('x-request-id');
    const requestId = offered && REQUEST_ID.test(offered) ? offered : randomUUID();
    res.locals.requestId = requestId;
    res.set({ 'x-request-id': requestId, ...SECURITY_HEADERS });
    const started = process.hrtime.bigint();
    res.on('finish', () => {
      const ms = Number((process.hrtime.bigint() - started) / 1_000_000n);
      context.log.info(
        { requestId, method: req.method, path: req.path, status: res.statusCode, ms, caller: callerId(req) },
        'request',
      );
    });
    next();
  };
}

/** Where in a parsed value, keys included, a string breaks the text rule (`items[0].sku`), if anywhere. */
function controlCharacterAt(value: unknown, path: (string | number)[] = []): (string | number)[] | null {
  if (typeof value === 'string') return MULTI_LINE_TEXT.test(value) ? null : path;
  if (Array.isArray(value)) {
    for (const [index, item] of value.entries()) {
      const found = controlCharacterAt(item, [...path, index]);
      if (found) return found;
    }
  } else if (value && typeof value === 'object') {
    for (const [key, item] of Object.entries(value)) {
      const found = controlCharacterAt(key, [...path, key]) ?? controlCharacterAt(item, [...path, key]);
      if (found) return found;
    }
  }
  return null;
}

/**
 * The text rule (domain/schemas.ts: no control characters in a body, query or path) for what no
 * schema reads: object keys, and strings on their way to a 404. Every string field's own schema
 * states the rule (`freeText`, ids, enums), stricter where line breaks make no sense; this is the
 * backstop, so a NUL, which Postgres text cannot hold, is always the caller's 400, never a failed insert.
 */
const rejectControlCharacters: RequestHandler = (req, _res, next) => {
  if (!SINGLE_LINE_TEXT.test(safelyDecoded(req.path))) {
    throw problem('InvalidRequest', 'The path contains a control character.', {
      title: 'Invalid path',
      errors: [{ field: 'path', message: 'must not contain control characters' }],
    });
  }
  for (const [where, value] of [
    ['query', req.query],
    ['body', req.body],
  ] as const) {
    const path = controlCharacterAt(value);
    if (path) {
      throw problem('InvalidRequest', 'One or more fields are invalid.', {
        title: `Invalid ${where}`,
        errors: [{ field: fieldPath(path), message: 'must not contain control characters' }],
      });
    }
  }
  next();
};

function safelyDecoded(path: string): string {
  try {
    return decodeURIComponent(path);
  } catch {
    return path;
  }
}

/**
 * The HTTP API, without a port: the server listens, tests call it directly. Its pieces, by resource:
 * `orders/` (place, read, cancel, retry; the read model), `returns/`, `inventory/` (stock and the
 * catalog), `webhooks/` (warehouse and carrier events), `reports/`, `operations/` (health, metrics, the
 * OpenAPI document, its docs page), and `http/` (access control, problem+json errors and the failure
 * mapper, idempotency). `contract.ts` is the table they all follow; `responses.ts` its answer schemas.
 */
export function createApp(context: ApiContext): Express {
  const app = express();
  app.disable('x-powered-by');
  app.set('query parser', 'simple');
  app.use(requestContext(context));
  const metrics = context.metrics ?? new ApiMetrics(context.db);
  app.use(metrics.observe());
  app.use(traceRequests());
  // Temporal Web's preflight carries no credential: answered before access control.
  app.use(codecCors(context.codec));
  // Who may call what (api/contract.ts) is settled before a body is read.
  app.use(accessControl(context.auth));
  app.use(requireJsonBody);
  app.use(express.json({ limit: BODY_LIMIT, type: ['application/json', 'application/*+json'] }));
  app.use(rejectControlCharacters);
  app.use(idempotency(context.db, context.log.error));
  app.use(docsRouter());
  app.use(healthRouter(context));
  app.use(metrics.router());
  app.use(codecRouter(context));
  app.use(catalogRouter(context));
  app.use(ordersRouter(context));
  app.use(eventsRouter(context));
  app.use(inventoryRouter(context));
  app.use(returnsRouter(context));
  app.use(reportsRouter(context));
  app.use(kpisRouter(context));
  app.use(wavesRouter(context));
  app.use(dashboardRouter());
  app.use((req, res) => sendProblem(res, problem('NotFound', `No route ${req.method} ${req.path}.`)));
  app.use(errorHandler(context.log.error));
  return app;
}
