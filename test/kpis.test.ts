import type { Client } from '@temporalio/client';
import { sql } from 'drizzle-orm';
import type { Express } from 'express';
import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApp } from '../api/app.js';
import type { Database } from '../db/client.js';
import { KpiReport } from '../domain/kpis.js';
import { assertConforms } from './support/contract.js';
import { type Caller, credentialHeaders, testAuth } from './support/credentials.js';
import { kpiDatabase, writeKpiFixture } from './support/kpi-fixtures.js';
import { PRODUCTION_POLICY } from './support/orders.js';

/**
 * `GET /reports/kpis` over orders whose figures are worked out by hand below
 * (test/support/kpi-fixtures.ts), written through the read-model activity the workflows use, in a
 * database of their own. `now` is fixed at 2026-03-20 so ages are exact.
 */
let db: Database;
let app: Express;
const NOW = new Date('2026-03-20T00:00:00.000Z');
const MARCH = { from: '2026-03-01T00:00:00Z', to: '2026-03-08T00:00:00Z' };

beforeAll(async () => {
  db = await kpiDatabase('kpis');
  await writeKpiFixture(db);
  app = createApp({
    db,
    temporal: {} as Client,
    auth: testAuth,
    orderPolicy: PRODUCTION_POLICY,
    now: () => NOW,
    log: { error: () => {}, info: () => {} },
  });
});

afterAll(async () => {
  await db?.close();
});

async function kpis(query: Record<string, string>, as: Caller = 'support') {
  return request(app).get('/reports/kpis').query(query).set(credentialHeaders(as));
}

async function report(query: Record<string, string>): Promise<KpiReport> {
  const response = await kpis(query);
  expect(response.status, JSON.stringify(response.body)).toBe(200);
  assertConforms('get', '/reports/kpis', response.status, String(response.headers['content-type']), response.body);
  return KpiReport.parse(response.body);
}

describe('GET /reports/kpis over 1–7 March', () => {
  it('counts the orders placed in the range and what became of them (kpi-j, a second early, is not among them)', async () => {
    const { totals } = await report(MARCH);
    // Placed: a b c d e f g i k l. Shipped and delivered: a b c f. Cancelled: d (buffer), e (after capture), i (backorder).
    // With returns that did not expire: b (wrong item) and c (damaged); a's return expired.
    expect(totals).toMatchObject({ placed: 10, shipped: 4, delivered: 4, cancelled: 3, returned: 2 });
    expect(totals.cancellationRate).toBeCloseTo(3 / 10, 10);
  });

  it('computes accuracy, perfect orders, on-time delivery, exceptions and reships by their definitions', async () => {
    const { totals } = await report(MARCH);
    // Order accuracy: 4 shipped, b had a wrong-item return.
    expect(totals.orderAccuracy).toBeCloseTo(3 / 4, 10);
    // Picking accuracy: 4 picked; b (wrong item) and c (rejected pick) are picking errors.
    expect(totals.pickingAccuracy).toBeCloseTo(2 / 4, 10);
    // Perfect: of a b c f (settled), only a: b late + wrong item, c short pick + damaged, f exception + reship + late.
    expect(totals.perfectOrderRate).toBeCloseTo(1 / 4, 10);
    // On time against the first promise: a (3rd ≤ 4th) and c (4th ≤ 6th); b (5th > 3rd) and f (9th > 5th) late.
    expect(totals.onTimeDeliveryRate).toBeCloseTo(2 / 4, 10);
    expect(totals.exceptionsPer100).toBeCloseTo(25, 10);
    expect(totals.reshipsPer100).toBeCloseTo(25, 10);
    // Units sold (shipped orders): a 2 + b 2 + c 3 + f 1 = 8; back: b 1 + c 1.
    expect(totals.returnRate).toBeCloseTo(2 / 8, 10);
  });

  it('gives processing and lead times as mean, median and continuous 90th percentile in hours', async () => {
    const { totals } = await report(MARCH);
    // Processing (placed → first shipped): a 6, f 10, b 12, c 18.
    expect(totals.processingHours.mean).toBeCloseTo(11.5, 6);
    expect(totals.processingHours.p50).toBeCloseTo(11, 6);
    expect(totals.processingHours.p90).toBeCloseTo(12 + 0.7 * 6, 6);
    // Lead (placed → delivered): a 48, c 48, b 84, f 144.
    expect(totals.leadTimeHours.mean).toBeCloseTo(81, 6);
    expect(totals.leadTimeHours.p50).toBeCloseTo(66, 6);
    expect(totals.leadTimeHours.p90).toBeCloseTo(84 + 0.7 * 60, 6);
  });

  it('breaks cancellations down by stage and by reason', async () => {
    const { cancellations } = await report(MARCH);
    expect(cancellations.byStage).toEqual([
      { stage: 'after_capture', orders: 1 },
      { stage: 'backorder_expired', orders: 1 },
      { stage: 'in_buffer', orders: 1 },
    ]);
    expect(cancellations.byReason).toEqual([
      { reason: 'backorder expired', orders: 1 },
      { reason: 'customer changed their mind', orders: 1 },
      { reason: 'found it cheaper', orders: 1 },
    ]);
  });

  it('breaks returns down by reason and by sku, with the refunds', async () => {
    const { returns, currency } = await report(MARCH);
    expect(currency).toBe('USD');
    expect(returns).toMatchObject({ unitsSold: 8, unitsReturned: 2, refunded: 3600 + 2500 });
    expect(returns.rate).toBeCloseTo(0.25, 10);
    expect(returns.byReason).toEqual([
      { reason: 'damaged', returns: 1, units: 1, refunded: 2500, rate: 1 / 8 },
      { reason: 'wrong_item', returns: 1, units: 1, refunded: 3600, rate: 1 / 8 },
    ]);
    expect(returns.bySku).toEqual([
      { sku: 'TSHIRT-ORG-M', unitsSold: 3, unitsReturned: 1, rate: 1 / 3 },
      { sku: 'BOOK-TEMPORAL', unitsSold: 1, unitsReturned: 1, rate: 1 },
      { sku: 'MUG-CERAMIC', unitsSold: 3, unitsReturned: 0, rate: 0 },
      { sku: 'LAMP-DESK', unitsSold: 1, unitsReturned: 0, rate: 0 },
    ]);
  });

  it('lists what is open now, the parked orders with their age, and no backorders', async () => {
    const { open } = await report(MARCH);
    expect(open.byStatus).toEqual([
      { status: 'delivered', orders: 1 },
      { status: 'needs_attention', orders: 1 },
      { status: 'processing', orders: 1 },
    ]);
    expect(open.needsAttentionCount).toBe(1);
    expect(open.needsAttention).toEqual([
      {
        orderId: 'kpi-l',
        workflowId: 'order-kpi-l',
        reason: 'the warehouse did not complete the pick after 3 attempts',
        since: '2026-03-06T20:00:00.000Z',
        ageHours: 13 * 24 + 4,
      },
    ]);
    expect(open.backorders).toEqual({ waiting: 0, oldestSince: null, oldestAgeHours: null });
  });

  it('has a bucket for every day, empty ones included, in UTC by default', async () => {
    const { series, totals } = await report(MARCH);
    expect(series.map((bucket) => [bucket.bucket, bucket.placed])).toEqual([
      ['2026-03-01', 2], // a, b (23:30)
      ['2026-03-02', 2], // c (00:00:00 exactly), d
      ['2026-03-03', 2],
      ['2026-03-04', 1],
      ['2026-03-05', 1],
      ['2026-03-06', 2],
      ['2026-03-07', 0],
    ]);
    expect(series[0]!.start).toBe('2026-03-01T00:00:00.000Z');
    expect(series[0]).toMatchObject({ shipped: 2, delivered: 2, orderAccuracy: 0.5, onTimeDeliveryRate: 0.5 });
    expect(series[0]!.processingHours.p50).toBeCloseTo(9, 6);
    expect(series[6]).toMatchObject({
      placed: 0,
      cancellationRate: null,
      perfectOrderRate: null,
      processingHours: { mean: null, p50: null, p90: null },
    });
    expect(series.reduce((sum, bucket) => sum + bucket.placed, 0)).toBe(totals.placed);
  });

  it('draws day boundaries in the time zone asked for', async () => {
    const { series, range } = await report({ ...MARCH, tz: 'America/New_York' });
    expect(range.tz).toBe('America/New_York');
    // 1 March 00:00 UTC is 28 February 19:00 in New York: that day gets a bucket of its own.
    expect(series.map((bucket) => [bucket.bucket, bucket.placed])).toEqual([
      ['2026-02-28', 0],
      ['2026-03-01', 3], // a, b and c (c at 19:00 on the 1st, New York time)
      ['2026-03-02', 1],
      ['2026-03-03', 2],
      ['2026-03-04', 1],
      ['2026-03-05', 1],
      ['2026-03-06', 2],
      ['2026-03-07', 0],
    ]);
    expect(series[1]!.start).toBe('2026-03-01T05:00:00.000Z');
  });

  it('takes from and to as instants with their offsets', async () => {
    // 2 March 00:00 at +01:00 is 1 March 23:00 UTC: b (23:30 UTC) is in, a (10:00 UTC) is out.
    const { totals } = await report({ from: '2026-03-02T00:00:00+01:00', to: '2026-03-02T01:00:00+01:00' });
    expect(totals.placed).toBe(1);
    expect(totals.processingHours.p50).toBeCloseTo(12, 6);
  });

  it('groups by ISO week (Monday first)', async () => {
    const { series } = await report({ ...MARCH, granularity: 'week' });
    expect(series.map((bucket) => [bucket.bucket, bucket.placed])).toEqual([
      ['2026-02-23', 2], // Sunday 1 March belongs to the week of Monday 23 February
      ['2026-03-02', 8],
    ]);
  });

  it('answers one order as itself', async () => {
    const { totals } = await report({ from: '2026-03-01T00:00:00Z', to: '2026-03-01T12:00:00Z' });
    expect(totals).toMatchObject({
      placed: 1,
      shipped: 1,
      delivered: 1,
      cancelled: 0,
      orderAccuracy: 1,
      perfectOrderRate: 1,
      onTimeDeliveryRate: 1,
      returnRate: 0,
    });
    expect(totals.processingHours).toEqual({ mean: 6, p50: 6, p90: 6 });
  });

  it('answers an empty range with zeros and nulls, never an error', async () => {
    const body = await report({ from: '2025-01-01T00:00:00Z', to: '2025-01-02T00:00:00Z' });
    expect(body.totals).toMatchObject({
      placed: 0,
      shipped: 0,
      cancellationRate: null,
      orderAccuracy: null,
      returnRate: null,
      exceptionsPer100: null,
    });
    expect(body.totals.leadTimeHours).toEqual({ mean: null, p50: null, p90: null });
    expect(body.series).toHaveLength(1);
    expect(body.returns).toMatchObject({
      unitsSold: 0,
      unitsReturned: 0,
      rate: null,
      refunded: 0,
      byReason: [],
      bySku: [],
    });
    expect(body.cancellations).toEqual({ byStage: [], byReason: [] });
    expect(body.currency).toBeNull();
  });

  it('filters by channel and by warehouse (the open orders too)', async () => {
    const marketplace = await report({ ...MARCH, channel: 'marketplace' });
    expect(marketplace.totals).toMatchObject({ placed: 1, shipped: 1, pickingAccuracy: 0 });
    expect(marketplace.open.byStatus).toEqual([]);
    const west = await report({ ...MARCH, warehouseId: 'wh-west' });
    expect(west.totals.placed).toBe(1);
    expect(west.returns.bySku).toEqual([{ sku: 'TSHIRT-ORG-M', unitsSold: 3, unitsReturned: 1, rate: 1 / 3 }]);
    const phone = await report({ ...MARCH, channel: 'phone' });
    expect(phone.open.byStatus).toEqual([{ status: 'processing', orders: 1 }]);
  });

  it('defaults to the 30 days before now', async () => {
    const { range } = await report({});
    expect(range).toMatchObject({
      from: '2026-02-18T00:00:00.000Z',
      to: '2026-03-20T00:00:00.000Z',
      granularity: 'day',
      tz: 'UTC',
      channel: null,
      warehouseId: null,
    });
  });

  it('keeps order_facts equal to what the timeline says, after every retried write', async () => {
    // The triggers' running summary against a recomputation from the tables themselves.
    const drift = await db.execute(sql`
      select f.order_id from order_facts f
      left join (select order_id, min(at) filter (where type = 'shipped') as shipped_at, min(at) filter (where type = 'delivered') as delivered_at,
                        count(*) filter (where type = 'reship_started')::int as reships
                 from order_events group by order_id) e on e.order_id = f.order_id
      where f.shipped_at is distinct from e.shipped_at or f.delivered_at is distinct from e.delivered_at or f.reships <> coalesce(e.reships, 0)`);
    expect(drift).toEqual([]);
    const [facts] = await db.execute<{ units: number; warehouse_id: string; returned_units: number }>(
      sql`select units, warehouse_id, returned_units from order_facts where order_id = 'kpi-c'`,
    );
    expect(facts).toEqual({ units: 3, warehouse_id: 'wh-west', returned_units: 1 });
  });
});

describe('GET /reports/kpis refuses bad input with a 400 naming the parameter', () => {
  it.each([
    ['from after to', { from: '2026-03-08T00:00:00Z', to: '2026-03-01T00:00:00Z' }, 'from'],
    ['from equal to to', { from: '2026-03-08T00:00:00Z', to: '2026-03-08T00:00:00Z' }, 'from'],
    ['a range over 366 days', { from: '2025-01-01T00:00:00Z', to: '2026-01-03T00:00:00Z' }, 'to'],
    ['an unknown channel', { channel: 'fax' }, 'channel'],
    ['an unknown warehouse', { warehouseId: 'wh-atlantis' }, 'warehouseId'],
    ['a bad granularity', { granularity: 'month' }, 'granularity'],
    ['an unknown time zone', { tz: 'Mars/Olympus_Mons' }, 'tz'],
    ['a date without a time', { from: '2026-03-01' }, 'from'],
    ['an unknown parameter', { status: 'shipped' }, ''],
  ])('%s', async (_name, query, field) => {
    const response = await kpis(query as Record<string, string>);
    expect(response.status).toBe(400);
    expect(response.headers['content-type']).toContain('application/problem+json');
    const fields = (response.body.errors as { field: string }[]).map((error) => error.field);
    expect(fields).toContain(field);
  });

  it('accepts exactly 366 days', async () => {
    expect((await kpis({ from: '2025-03-01T00:00:00Z', to: '2026-03-02T00:00:00Z' })).status).toBe(200);
  });
});

describe('who may read the KPIs', () => {
  it.each([
    ['anonymous', 401],
    ['service', 403],
    ['warehouse', 403],
    ['support', 200],
    ['admin', 200],
  ] as const)('%s → %i', async (as, status) => {
    const response = await kpis(MARCH, as);
    expect(response.status).toBe(status);
    if (status !== 200) expect(response.body).not.toHaveProperty('totals');
  });
});
