import { randomUUID } from 'node:crypto';
import express, { type Express } from 'express';
import { catalogRouter } from './catalog.js';
import type { ApiContext } from './context.js';
import { eventsRouter } from './events.js';
import { healthRouter } from './health.js';
import { inventoryRouter } from './inventory.js';
import { ordersRouter } from './orders.js';
import { errorHandler, ProblemError, sendProblem } from './problem.js';

/** The HTTP API, without a port: the server listens, tests call it directly. */
export function createApp(context: ApiContext): Express {
  const app = express();
  app.disable('x-powered-by');
  app.set('query parser', 'simple');
  app.use((req, res, next) => {
    const requestId = req.get('x-request-id')?.slice(0, 100) || randomUUID();
    res.set({ 'x-request-id': requestId, 'x-content-type-options': 'nosniff', 'cache-control': 'no-store' });
    next();
  });
  app.use(express.json({ limit: '64kb', type: ['application/json', 'application/*+json'] }));
  app.use(healthRouter(context));
  app.use(catalogRouter(context));
  app.use(ordersRouter(context));
  app.use(eventsRouter(context));
  app.use(inventoryRouter(context));
  app.use((req, res) => sendProblem(res, new ProblemError(404, 'Not found', `No route ${req.method} ${req.path}.`)));
  app.use(errorHandler(context.log.error));
  return app;
}
