import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { Router } from 'express';

/**
 * `GET /dashboard`: the operations dashboard, a static page holding no secret. It asks for a
 * support or admin key once (sessionStorage) and calls `GET /reports/kpis` with it. Chart.js comes
 * from the installed npm package, served here (no CDN).
 */
const here = new URL('./dashboard-page/', import.meta.url);
const chartJs = join(dirname(createRequire(import.meta.url).resolve('chart.js')), 'chart.umd.min.js');

/** The page may run its own scripts and styles, call this API, nothing else. */
const DASHBOARD_CSP =
  "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'";

export const DASHBOARD_ASSETS = {
  '/dashboard/app.js': { type: 'js', file: new URL('app.js', here).pathname },
  '/dashboard/app.css': { type: 'css', file: new URL('app.css', here).pathname },
  '/dashboard/chart.umd.js': { type: 'js', file: chartJs },
} as const;

export function dashboardRouter(): Router {
  const router = Router();
  const page = readFileSync(new URL('index.html', here), 'utf8');
  router.get('/dashboard', (_req, res) => {
    res.set('content-security-policy', DASHBOARD_CSP).type('html').send(page);
  });
  for (const [path, asset] of Object.entries(DASHBOARD_ASSETS)) {
    router.get(path, (_req, res) => {
      res.type(asset.type).sendFile(asset.file, { headers: { 'cache-control': 'no-cache' } });
    });
  }
  return router;
}
