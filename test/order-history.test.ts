import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Database } from '../db/client.js';
import { checkInvariants } from '../db/invariants.js';
import { deleteOrderHistory, loadOrderHistory } from '../db/order-history.js';
import { kpiDatabase } from './support/kpi-fixtures.js';

/**
 * The seeding path `npm run demo:load` and `npm run bench:kpis` use (db/order-history.ts): it must
 * write what the workflows write, so the ledger rules hold, nothing lies in the future, and the
 * triggers' order_facts agree with a recomputation from the tables.
 */
let db: Database;
const NOW = new Date('2026-03-31T12:00:00.000Z');

beforeAll(async () => {
  db = await kpiDatabase('history');
  await loadOrderHistory(db, {
    orders: 600,
    from: new Date('2026-03-01T00:00:00.000Z'),
    to: NOW,
    now: NOW,
    seed: 7,
    batchSize: 200,
  });
});

afterAll(async () => {
  await db?.close();
});

describe('the order history seeding path', () => {
  it('writes a realistic mix: open and closed orders, cancellations, returns', async () => {
    const statuses = await db.execute<{ status: string }>(sql`select distinct status from orders`);
    expect(statuses.map((row) => row.status)).toEqual(
      expect.arrayContaining([
        'delivered',
        'returned',
        'cancelled',
        'in_transit',
        'processing',
        'payment_failed',
        'backordered',
      ]),
    );
    const [counts] = await db.execute<{ orders: number; returns: number; exceptions: number }>(sql`
      select (select count(*) from orders)::int as orders, (select count(*) from returns)::int as returns,
             (select count(distinct order_id) from order_events where type = 'delivery_exception')::int as exceptions`);
    expect(counts!.orders).toBe(600);
    expect(counts!.returns).toBeGreaterThan(0);
  });

  it('keeps every timestamp in the past and every snapshot equal to its last event', async () => {
    const future = await db.execute(sql`select 1 from order_events where at > ${NOW.toISOString()}::timestamptz`);
    expect(future).toEqual([]);
    const mismatched = await db.execute(sql`
      select o.order_id from orders o
      join lateral (select e.seq, e.status from order_events e where e.order_id = o.order_id order by e.seq desc limit 1) last on true
      where o.status <> last.status or o.version <> last.seq`);
    expect(mismatched).toEqual([]);
  });

  it('leaves the payment ledger as the workflows would: every ledger rule holds', async () => {
    expect(await checkInvariants(db)).toEqual([]);
  });

  it('has the triggers keep order_facts equal to a recomputation from the tables', async () => {
    const drift = await db.execute(sql`
      with expected as (
        select o.order_id, o.created_at, o.channel, coalesce(o.view ->> 'warehouseId', o.view -> 'shipments' -> 0 ->> 'warehouseId') as warehouse_id, o.view -> 'cancellation' ->> 'reason' as cancel_reason,
          (select coalesce(sum((i ->> 'quantity')::int), 0) from jsonb_array_elements(o.view -> 'items') i)::int as units,
          e.captured_at, e.shipped_at, e.delivered_at, e.cancel_type, coalesce(e.picked, false) as picked, coalesce(e.exception, false) as exception,
          coalesce(e.reships, 0) as reships, s.promised_by, coalesce(r.units, 0) as returned_units, coalesce(r.wrong_item, false) as wrong_item
        from orders o
        left join (select order_id, min(at) filter (where type = 'payment_captured') as captured_at, min(at) filter (where type = 'shipped') as shipped_at,
                          min(at) filter (where type = 'delivered') as delivered_at,
                          min(type) filter (where type in ('order_cancelled', 'backorder_expired', 'parcel_lost_refunded')) as cancel_type,
                          bool_or(type = 'picked') as picked, bool_or(type in ('delivery_exception', 'returned_to_sender')) as exception,
                          count(*) filter (where type = 'reship_started')::int as reships
                   from order_events group by order_id) e on e.order_id = o.order_id
        left join (select order_id, min(promised_by) as promised_by from shipments where status not in ('label_pending', 'label_abandoned', 'voided') group by order_id) s
          on s.order_id = o.order_id
        left join (select x.order_id, sum((u ->> 'quantity')::int)::int as units, bool_or(x.reason = 'wrong_item') as wrong_item
                   from returns x cross join lateral jsonb_array_elements(case when jsonb_array_length(x.units) > 0 then x.units else x.items end) u
                   where x.status <> 'expired' group by x.order_id) r on r.order_id = o.order_id
      ),
      actual as (
        select order_id, created_at, channel, warehouse_id, cancel_reason, units, captured_at, shipped_at, delivered_at, cancel_type, picked,
          delivery_exception as exception, reships, promised_by, returned_units, wrong_item_return as wrong_item
        from order_facts
      )
      (select 'missing' as side, * from expected except select 'missing', * from actual)
      union all
      (select 'extra', * from actual except select 'extra', * from expected)`);
    expect(drift).toEqual([]);
  });

  it('writes only finished orders when asked (a database with a worker: no open order without a workflow)', async () => {
    const written = await loadOrderHistory(db, {
      orders: 300,
      from: new Date('2026-03-01T00:00:00.000Z'),
      to: NOW,
      now: NOW,
      seed: 8,
      prefix: 'done',
      returnWindowDays: 3,
      finalOnly: true,
    });
    const statuses = await db.execute<{ status: string; n: number }>(
      sql`select status, count(*)::int as n from orders where order_id like 'done-%' group by status`,
    );
    expect(statuses.reduce((sum, row) => sum + row.n, 0)).toBe(written);
    expect(written).toBeGreaterThan(150);
    expect(statuses.map((row) => row.status).sort()).toEqual(expect.arrayContaining(['cancelled', 'completed']));
    expect(
      statuses.filter(
        (row) => !['completed', 'returned', 'cancelled', 'payment_failed', 'rejected'].includes(row.status),
      ),
    ).toEqual([]);
    expect(await checkInvariants(db)).toEqual([]);
    await deleteOrderHistory(db, 'done');
  });

  it('can be taken out again', async () => {
    await deleteOrderHistory(db);
    const [left] = await db.execute<{ orders: number; facts: number }>(
      sql`select (select count(*) from orders)::int as orders, (select count(*) from order_facts)::int as facts`,
    );
    expect(left).toEqual({ orders: 0, facts: 0 });
  });
});
