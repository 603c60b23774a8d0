import { Router } from 'express';
import { sql } from 'drizzle-orm';
import { type ApiContext, withTemporalDeadline } from '../context.js';

/** 200 only when both Postgres and Temporal answer; each check has a short deadline. */
export function healthRouter(context: ApiContext): Router {
  const router = Router();
  router.get('/healthz', async (_req, res) => {
    const check = async (name: string, probe: () => Promise<unknown>) => {
      try {
        await Promise.race([
          probe(),
          new Promise((_, reject) => setTimeout(() => reject(new Error('timeout')), 2_000).unref()),
        ]);
        return [name, 'ok'] as const;
      } catch {
        return [name, 'unavailable'] as const;
      }
    };
    const checks = Object.fromEntries(
      await Promise.all([
        check('postgres', () => context.db.execute(sql`select 1`)),
        check('temporal', () =>
          withTemporalDeadline({ ...context, temporalDeadlineMs: 2_000 }, () =>
            context.temporal.workflowService.getSystemInfo({}),
          ),
        ),
      ]),
    );
    const healthy = Object.values(checks).every((state) => state === 'ok');
    res.status(healthy ? 200 : 503).json({ status: healthy ? 'ok' : 'unavailable', checks });
  });
  return router;
}
