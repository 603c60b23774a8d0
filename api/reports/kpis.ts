import { Router } from 'express';
import { sql } from 'drizzle-orm';
import { computeKpis } from '../../db/kpis.js';
import { KPI_DEFAULT_RANGE_DAYS, KPI_MAX_RANGE_DAYS, KpisQuery } from '../../domain/kpis.js';
import type { ApiContext } from '../context.js';
import { type FieldError, parseOr400, problem } from '../http/problem.js';

const DAY_MS = 86_400_000;

/** The time zones Postgres knows (the `tz` the zod schema accepts must be one of them), read once. */
let postgresZones: Promise<Set<string>> | undefined;
function knownZones(db: ApiContext['db']): Promise<Set<string>> {
  postgresZones ??= db
    .execute<{ name: string }>(sql`select name from pg_timezone_names`)
    .then((rows) => new Set(rows.map((row) => row.name)))
    .catch((error: unknown) => {
      postgresZones = undefined;
      throw error;
    });
  return postgresZones;
}

/** `GET /reports/kpis`: the operations KPIs, computed in Postgres (db/kpis.ts). */
export function kpisRouter({ db, now }: ApiContext): Router {
  const router = Router();
  router.get('/reports/kpis', async (req, res) => {
    const query = parseOr400(KpisQuery, req.query, 'query');
    const at = now?.() ?? new Date();
    const to = query.to ? new Date(query.to) : at;
    const from = query.from ? new Date(query.from) : new Date(to.getTime() - KPI_DEFAULT_RANGE_DAYS * DAY_MS);
    const errors: FieldError[] = [];
    if (Number.isNaN(from.getTime())) errors.push({ field: 'from', message: 'not a valid instant' });
    else if (Number.isNaN(to.getTime())) errors.push({ field: 'to', message: 'not a valid instant' });
    else if (from.getTime() >= to.getTime())
      errors.push({ field: 'from', message: `must be before to (${to.toISOString()})` });
    else if (to.getTime() - from.getTime() > KPI_MAX_RANGE_DAYS * DAY_MS)
      errors.push({ field: 'to', message: `the range may span at most ${KPI_MAX_RANGE_DAYS} days after from` });
    if (query.warehouseId) {
      const known = await db.execute(sql`select 1 from warehouses where id = ${query.warehouseId}`);
      if (known.length === 0) errors.push({ field: 'warehouseId', message: `no warehouse ${query.warehouseId}` });
    }
    if (!(await knownZones(db)).has(query.tz))
      errors.push({ field: 'tz', message: `the database does not know the time zone ${query.tz}` });
    if (errors.length > 0)
      throw problem('InvalidRequest', 'One or more fields are invalid.', { title: 'Invalid query', errors });
    res.json(
      await computeKpis(
        db,
        {
          from,
          to,
          granularity: query.granularity,
          tz: query.tz,
          channel: query.channel,
          warehouseId: query.warehouseId,
        },
        at,
      ),
    );
  });
  return router;
}
