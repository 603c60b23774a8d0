import { randomUUID } from 'node:crypto';
import express, { type Express, type RequestHandler } from 'express';
import { callerId } from './actor.js';
import { accessControl, BODY_LIMIT, requireJsonBody } from './auth.js';
import { catalogRouter } from './catalog.js';
import { dashboardRouter } from './dashboard.js';
import type { ApiContext } from './context.js';
import { docsRouter } from './docs.js';
import { eventsRouter } from './events.js';
import { healthRouter } from './health.js';
import { idempotency } from './idempotency.js';
import { inventoryRouter } from './inventory.js';
import { kpisRouter } from './kpis.js';
import { ordersRouter } from './orders.js';
import { reportsRouter } from './reports.js';
import { returnsRouter } from './returns.js';
import { errorHandler, fieldPath, ProblemError, sendProblem } from './problem.js';

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
      context.log.info({ requestId, method: req.method, path: req.path, status: res.statusCode, ms, caller: callerId(req) }, 'request');
    });
    next();
  };
}

/** Where in a parsed value a NUL character hides (`items[0].sku`), if anywhere. */
function nulAt(value: unknown, path: (string | number)[] = []): (string | number)[] | null {
  if (typeof value === 'string') return value.includes('\u0000') ? path : null;
  if (Array.isArray(value)) {
    for (const [index, item] of value.entries()) {
      const found = nulAt(item, [...path, index]);
      if (found) return found;
    }
  } else if (value && typeof value === 'object') {
    for (const [key, item] of Object.entries(value)) {
      const found = nulAt(key, [...path, key]) ?? nulAt(item, [...path, key]);
      if (found) return found;
    }
  }
  return null;
}

/**
 * Text in Postgres cannot hold U+0000, so a NUL anywhere in the path, the query or the body is the
 * caller's error (400 naming the field), never a failed insert.
 */
const rejectNulCharacters: RequestHandler = (req, _res, next) => {
  if (/%00/i.test(req.path)) throw new ProblemError(400, 'Invalid path', 'The path contains a NUL character.', [{ field: 'path', message: 'must not contain NUL characters' }]);
  for (const [where, value] of [['query', req.query], ['body', req.body]] as const) {
    const path = nulAt(value);
    if (path) {
      throw new ProblemError(400, `Invalid ${where}`, 'One or more fields are invalid.', [{ field: fieldPath(path), message: 'must not contain NUL characters' }]);
    }
  }
  next();
};

/** The HTTP API, without a port: the server listens, tests call it directly. */
export function createApp(context: ApiContext): Express {
  const app = express();
  app.disable('x-powered-by');
  app.set('query parser', 'simple');
  app.use(requestContext(context));
  // Who may call what (api/contract.ts) is settled before a body is read.
  app.use(accessControl(context.auth));
  app.use(requireJsonBody);
  app.use(express.json({ limit: BODY_LIMIT, type: ['application/json', 'application/*+json'] }));
  app.use(rejectNulCharacters);
  app.use(idempotency(context.db, context.log.error));
  app.use(docsRouter());
  app.use(healthRouter(context));
  app.use(catalogRouter(context));
  app.use(ordersRouter(context));
  app.use(eventsRouter(context));
  app.use(inventoryRouter(context));
  app.use(returnsRouter(context));
  app.use(reportsRouter(context));
  app.use(kpisRouter(context));
  app.use(dashboardRouter());
  app.use((req, res) => sendProblem(res, new ProblemError(404, 'Not found', `No route ${req.method} ${req.path}.`)));
  app.use(errorHandler(context.log.error));
  return app;
}
