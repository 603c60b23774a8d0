import { sql, type SQL } from 'drizzle-orm';
import { orderWorkflowId } from '../domain/ids.js';
import { type KpiGranularity, type KpiReport, KPI_TARGETS } from '../domain/kpis.js';
import { FINAL_STATUSES, ORDER_STATUSES } from '../domain/statuses.js';
import type { Database } from './client.js';

export interface KpiRange {
  from: Date;
  to: Date;
  granularity: KpiGranularity;
  tz: string;
  channel?: string | undefined;
  warehouseId?: string | undefined;
}

/**
 * The figures of a cohort (the rows of `facts` in scope), as SQL select items: counts and rates,
 * then times (their percentiles sort, so they run as a statement of their own, on another core).
 * Each is computed for the whole range and for every bucket at once, so the series and the totals
 * share one definition. Definitions: domain/kpis.ts and docs/kpis.md.
 */
const COUNTS = sql.raw(`
  count(*)::int as placed,
  count(*) filter (where shipped_at is not null)::int as shipped,
  count(*) filter (where delivered_at is not null)::int as delivered,
  count(*) filter (where cancel_type is not null)::int as cancelled,
  count(*) filter (where returned_units > 0)::int as returned,
  (count(*) filter (where cancel_type is not null))::float8 / nullif(count(*), 0) as cancellation_rate,
  (count(*) filter (where shipped_at is not null and not wrong_item))::float8 / nullif(count(*) filter (where shipped_at is not null), 0) as order_accuracy,
  (count(*) filter (where picked and not wrong_item and not pick_rejected))::float8 / nullif(count(*) filter (where picked), 0) as picking_accuracy,
  (count(*) filter (where delivered_at is not null and delivered_at <= promised_by and not short_pick and reships = 0 and not exception and not bad_return))::float8
    / nullif(count(*) filter (where shipped_at is not null and (delivered_at is not null or exception)), 0) as perfect_order_rate,
  (count(*) filter (where delivered_at <= promised_by))::float8 / nullif(count(*) filter (where delivered_at is not null), 0) as on_time_delivery_rate,
  100.0 * (count(*) filter (where shipped_at is not null and exception)) / nullif(count(*) filter (where shipped_at is not null), 0) as exceptions_per_100,
  100.0 * (coalesce(sum(reships) filter (where shipped_at is not null), 0)) / nullif(count(*) filter (where shipped_at is not null), 0) as reships_per_100,
  coalesce(sum(returned_units), 0)::float8 / nullif(sum(units) filter (where shipped_at is not null), 0) as return_rate
`);
const TIMES = sql.raw(`
  avg(processing_hours) as processing_mean,
  percentile_cont(0.5) within group (order by processing_hours) as processing_p50,
  percentile_cont(0.9) within group (order by processing_hours) as processing_p90,
  avg(lead_hours) as lead_mean,
  percentile_cont(0.5) within group (order by lead_hours) as lead_p50,
  percentile_cont(0.9) within group (order by lead_hours) as lead_p90
`);

type CountRow = Omit<FigureRow, keyof TimeRow>;
type TimeRow = Pick<
  FigureRow,
  'processing_mean' | 'processing_p50' | 'processing_p90' | 'lead_mean' | 'lead_p50' | 'lead_p90'
>;

type FigureRow = {
  placed: number;
  shipped: number;
  delivered: number;
  cancelled: number;
  returned: number;
  cancellation_rate: number | null;
  order_accuracy: number | null;
  picking_accuracy: number | null;
  perfect_order_rate: number | null;
  on_time_delivery_rate: number | null;
  exceptions_per_100: number | string | null;
  reships_per_100: number | string | null;
  return_rate: number | null;
  processing_mean: number | null;
  processing_p50: number | null;
  processing_p90: number | null;
  lead_mean: number | null;
  lead_p50: number | null;
  lead_p90: number | null;
};

const num = (value: number | string | null): number | null => (value === null ? null : Number(value));

function figures(row: FigureRow): KpiReport['totals'] {
  return {
    placed: row.placed,
    shipped: row.shipped,
    delivered: row.delivered,
    cancelled: row.cancelled,
    returned: row.returned,
    cancellationRate: num(row.cancellation_rate),
    orderAccuracy: num(row.order_accuracy),
    pickingAccuracy: num(row.picking_accuracy),
    perfectOrderRate: num(row.perfect_order_rate),
    onTimeDeliveryRate: num(row.on_time_delivery_rate),
    exceptionsPer100: num(row.exceptions_per_100),
    reshipsPer100: num(row.reships_per_100),
    returnRate: num(row.return_rate),
    processingHours: { mean: num(row.processing_mean), p50: num(row.processing_p50), p90: num(row.processing_p90) },
    leadTimeHours: { mean: num(row.lead_mean), p50: num(row.lead_p50), p90: num(row.lead_p90) },
  };
}

/** Orders in scope of the channel and warehouse filters (no date condition). */
function scope(range: KpiRange): SQL {
  const conditions: SQL[] = [sql`true`];
  if (range.channel) conditions.push(sql`o.channel = ${range.channel}`);
  if (range.warehouseId)
    conditions.push(
      sql`coalesce(o.view ->> 'warehouseId', o.view -> 'shipments' -> 0 ->> 'warehouseId') = ${range.warehouseId}`,
    );
  return sql.join(conditions, sql` and `);
}

/** The range's conditions on `order_facts f`. */
function inRange(range: KpiRange): SQL {
  const conditions: SQL[] = [
    sql`f.created_at >= ${range.from.toISOString()}::timestamptz`,
    sql`f.created_at < ${range.to.toISOString()}::timestamptz`,
  ];
  if (range.channel) conditions.push(sql`f.channel = ${range.channel}`);
  if (range.warehouseId) conditions.push(sql`f.warehouse_id = ${range.warehouseId}`);
  return sql.join(conditions, sql` and `);
}

/**
 * The statements over the cohort (the range's rows of `order_facts`, kept by triggers from the
 * read model, the timeline, shipments and returns: migration 0008). `counts` and `times` are each
 * one pass over every order of the range, the totals and each bucket at once (grouping sets); `breakdowns`
 * reads the few cancelled and returned orders through partial indexes, and the lines of the
 * shipped ones. computeKpis runs them side by side. Exported for EXPLAIN.
 */
export function kpiQueries(range: KpiRange): { counts: SQL; times: SQL; breakdowns: SQL } {
  const over = (items: SQL, columns: SQL) => sql`
    select grouping(bucket) = 1 as total, to_char(bucket, 'YYYY-MM-DD') as bucket, ${items}
    from (
      select ${columns}, date_trunc(${range.granularity}, f.created_at at time zone ${range.tz}) as bucket
      from order_facts f
      where ${inRange(range)}
    ) facts
    group by grouping sets ((bucket), ())`;
  const counts = over(
    COUNTS,
    sql.raw(`f.shipped_at, f.delivered_at, f.cancel_type, f.picked, f.pick_rejected, f.short_pick, f.delivery_exception as exception,
        f.reships, f.promised_by, f.units, f.returned_units, f.wrong_item_return as wrong_item, (f.wrong_item_return or f.damaged_return) as bad_return`),
  );
  const times = over(
    TIMES,
    sql.raw(`extract(epoch from f.shipped_at - f.created_at)::float8 / 3600 as processing_hours,
        extract(epoch from f.delivered_at - f.created_at)::float8 / 3600 as lead_hours`),
  );
  const breakdowns = sql`
    with cancelled as (
      select f.cancel_type, f.cancel_reason, f.shipped_at, f.captured_at from order_facts f where ${inRange(range)} and f.cancel_type is not null
    ),
    cancel_stages as (
      select case
          when cancel_type = 'backorder_expired' then 'backorder_expired'
          when cancel_type = 'parcel_lost_refunded' or shipped_at is not null then 'late'
          when captured_at is not null then 'after_capture'
          else 'in_buffer' end as stage,
        count(*)::int as orders
      from cancelled group by 1
    ),
    cancel_reasons as (
      select case cancel_type
          when 'backorder_expired' then 'backorder expired'
          when 'parcel_lost_refunded' then 'parcel lost'
          else coalesce(lower(btrim(cancel_reason)), 'unknown') end as reason,
        count(*)::int as orders
      from cancelled group by 1 order by 2 desc, 1 limit 10
    ),
    returned as (
      select r.return_id, r.reason, r.refunded, case when jsonb_array_length(r.units) > 0 then r.units else r.items end as lines
      from order_facts f join returns r on r.order_id = f.order_id
      where ${inRange(range)} and f.returned_units > 0 and r.status <> 'expired'
    ),
    returned_units as (
      select r.return_id, r.reason, u ->> 'sku' as sku, (u ->> 'quantity')::int as quantity
      from returned r cross join lateral jsonb_array_elements(r.lines) u
    ),
    sold as (
      select sku, sum(quantity)::int as units
      from (select unnest(f.skus) as sku, unnest(f.quantities) as quantity from order_facts f where ${inRange(range)} and f.shipped_at is not null) line
      group by sku
    ),
    return_reasons as (
      select reason, count(distinct return_id)::int as returns, sum(quantity)::int as units from returned_units group by reason
    ),
    refunds as (select reason, sum(refunded)::bigint as refunded from returned group by reason),
    return_skus as (select sku, sum(quantity)::int as units from returned_units group by sku)
    select
      (select coalesce(json_agg(json_build_object('stage', stage, 'orders', orders) order by orders desc, stage), '[]') from cancel_stages) as cancel_stages,
      (select coalesce(json_agg(json_build_object('reason', reason, 'orders', orders) order by orders desc, reason), '[]') from cancel_reasons) as cancel_reasons,
      (select coalesce(sum(units), 0)::int from sold) as units_sold,
      (select coalesce(sum(quantity), 0)::int from returned_units) as units_returned,
      (select coalesce(sum(refunded), 0)::bigint from refunds) as refunded,
      (select coalesce(json_agg(json_build_object('reason', rr.reason, 'returns', rr.returns, 'units', rr.units,
                'refunded', coalesce(rf.refunded, 0)) order by rr.returns desc, rr.reason), '[]')
         from return_reasons rr left join refunds rf on rf.reason = rr.reason) as return_reasons,
      (select coalesce(json_agg(x order by x."unitsReturned" desc, x."unitsSold" desc, x.sku), '[]') from (
         select coalesce(s.sku, rs.sku) as sku, coalesce(s.units, 0) as "unitsSold", coalesce(rs.units, 0) as "unitsReturned"
         from sold s full join return_skus rs on rs.sku = s.sku
         order by 3 desc, 2 desc, 1 limit 20) x) as return_skus`;
  return { counts, times, breakdowns };
}

/** Every bucket of the range, in `tz`: its first day (YYYY-MM-DD) and the instant it starts. */
function bucketsQuery(range: KpiRange): SQL {
  const step = sql`('1 ' || ${range.granularity})::interval`;
  return sql`
    select to_char(local, 'YYYY-MM-DD') as bucket, local at time zone ${range.tz} as start
    from generate_series(date_trunc(${range.granularity}, ${range.from.toISOString()}::timestamptz at time zone ${range.tz}),
                         (${range.to.toISOString()}::timestamptz - interval '1 microsecond') at time zone ${range.tz}, ${step}) local
    order by local`;
}

interface Breakdowns {
  cancel_stages: KpiReport['cancellations']['byStage'];
  cancel_reasons: KpiReport['cancellations']['byReason'];
  units_sold: number;
  units_returned: number;
  refunded: string | number;
  return_reasons: { reason: string; returns: number; units: number; refunded: number }[];
  return_skus: { sku: string; unitsSold: number; unitsReturned: number }[];
}

/** Runs a statement with room to sort the range's orders in memory (the percentiles). */
async function run<T>(db: Database, query: SQL): Promise<T[]> {
  return db.transaction(async (tx) => {
    await tx.execute(sql`set local work_mem = '32MB'`);
    return (await tx.execute(query)) as unknown as T[];
  });
}

/** The KPI report for a range: aggregate statements over indexed rows, run side by side. */
export async function computeKpis(db: Database, range: KpiRange, now: Date = new Date()): Promise<KpiReport> {
  const from = range.from.toISOString();
  const to = range.to.toISOString();
  const open = sql.join(
    ORDER_STATUSES.filter((status) => !FINAL_STATUSES.includes(status)).map((status) => sql`${status}`),
    sql`, `,
  );
  const queries = kpiQueries(range);
  type Grouped<T> = T & { total: boolean; bucket: string | null };
  const [countRows, timeRows, buckets, [breakdowns], byStatus, attention, [backorders], [currency]] = await Promise.all(
    [
      run<Grouped<CountRow>>(db, queries.counts),
      run<Grouped<TimeRow>>(db, queries.times),
      db.execute(bucketsQuery(range)) as unknown as Promise<{ bucket: string; start: Date | string }[]>,
      run<Breakdowns>(db, queries.breakdowns),
      // What is open now, whatever the range: the status index answers these.
      db.execute(sql`
      select o.status, count(*)::int as orders from orders o
      where o.status in (${open}) and ${scope(range)} group by o.status order by 2 desc, 1
    `) as unknown as Promise<{ status: KpiReport['open']['byStatus'][number]['status']; orders: number }[]>,
      db.execute(sql`
      select o.order_id, o.view ->> 'attention' as reason,
        coalesce((select max(e.at) from order_events e where e.order_id = o.order_id and e.type = 'needs_attention'), o.updated_at) as since,
        count(*) over ()::int as total
      from orders o where o.status = 'needs_attention' and ${scope(range)}
      order by since, o.order_id limit 50
    `) as unknown as Promise<{ order_id: string; reason: string | null; since: Date | string; total: number }[]>,
      db.execute(sql`
      select count(*)::int as waiting,
        min(coalesce((select max(e.at) from order_events e where e.order_id = o.order_id and e.type = 'backordered'), o.updated_at)) as oldest
      from orders o where o.status = 'backordered' and ${scope(range)}
    `) as unknown as Promise<{ waiting: number; oldest: Date | string | null }[]>,
      db.execute(sql`
      select o.currency from orders o
      where o.created_at >= ${from}::timestamptz and o.created_at < ${to}::timestamptz and o.currency is not null and ${scope(range)} limit 1
    `) as unknown as Promise<{ currency: string }[]>,
    ],
  );
  const key = (row: { total: boolean; bucket: string | null }) => (row.total ? '' : row.bucket);
  const timesOf = new Map(timeRows.map((row) => [key(row), row]));
  const figureRows = countRows.map((row): Grouped<FigureRow> => ({
    ...(timesOf.get(key(row)) ?? EMPTY_BUCKET),
    ...row,
  }));
  const totals = figureRows.find((row) => row.total);
  const byBucket = new Map(figureRows.filter((row) => !row.total).map((row) => [row.bucket, row]));
  if (!totals || !breakdowns) throw new Error('the KPI queries returned no row');

  const iso = (value: Date | string) => new Date(value).toISOString();
  const ageHours = (since: Date | string) => (now.getTime() - new Date(since).getTime()) / 3_600_000;
  const rate = (part: number, whole: number) => (whole > 0 ? part / whole : null);
  return {
    range: {
      from,
      to,
      granularity: range.granularity,
      tz: range.tz,
      channel: (range.channel ?? null) as KpiReport['range']['channel'],
      warehouseId: range.warehouseId ?? null,
    },
    generatedAt: now.toISOString(),
    currency: currency?.currency ?? null,
    targets: KPI_TARGETS,
    totals: figures(totals),
    cancellations: { byStage: breakdowns.cancel_stages, byReason: breakdowns.cancel_reasons },
    returns: {
      unitsSold: breakdowns.units_sold,
      unitsReturned: breakdowns.units_returned,
      rate: rate(breakdowns.units_returned, breakdowns.units_sold),
      refunded: Number(breakdowns.refunded),
      byReason: breakdowns.return_reasons.map((reason) => ({
        ...reason,
        refunded: Number(reason.refunded),
        rate: rate(reason.units, breakdowns.units_sold),
      })),
      bySku: breakdowns.return_skus.map((sku) => ({ ...sku, rate: rate(sku.unitsReturned, sku.unitsSold) })),
    },
    open: {
      byStatus: byStatus.map((row) => ({ status: row.status, orders: row.orders })),
      needsAttention: attention.map((row) => ({
        orderId: row.order_id,
        workflowId: orderWorkflowId(row.order_id),
        reason: row.reason,
        since: iso(row.since),
        ageHours: ageHours(row.since),
      })),
      needsAttentionCount: attention[0]?.total ?? 0,
      backorders: {
        waiting: backorders?.waiting ?? 0,
        oldestSince: backorders?.oldest ? iso(backorders.oldest) : null,
        oldestAgeHours: backorders?.oldest ? ageHours(backorders.oldest) : null,
      },
    },
    series: buckets.map((bucket) => ({
      bucket: bucket.bucket,
      start: iso(bucket.start),
      ...figures(byBucket.get(bucket.bucket) ?? EMPTY_BUCKET),
    })),
  };
}

const EMPTY_BUCKET: FigureRow = {
  placed: 0,
  shipped: 0,
  delivered: 0,
  cancelled: 0,
  returned: 0,
  cancellation_rate: null,
  order_accuracy: null,
  picking_accuracy: null,
  perfect_order_rate: null,
  on_time_delivery_rate: null,
  exceptions_per_100: null,
  reships_per_100: null,
  return_rate: null,
  processing_mean: null,
  processing_p50: null,
  processing_p90: null,
  lead_mean: null,
  lead_p50: null,
  lead_p90: null,
};
