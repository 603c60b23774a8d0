import { type SQL, sql } from 'drizzle-orm';
import { FINAL_STATUSES, HANDED_OVER_SHIPMENT_STATUSES, type OrderStatus } from '../domain/statuses.js';
import type { Database } from './client.js';
import type { Transaction } from './stock.js';

/**
 * What must always hold across the ledger, the reservations and the stock, checked in SQL over the
 * tables themselves (never over what the workflows believe). `npm run check:ledger` runs these
 * against a live database; tests run them over the rows they build.
 */
export interface Violation {
  /**
   * money | open_authorization | held_reservation | picked_reservation | unused_label | closed_workflow |
   * double_effect | shipment_money | stock_matches_movements | stock_bounds.
   * `closed_workflow`: the order's workflow is closed (terminated, failed, timed out) or gone, but its read
   * model is not final. open_authorization, held_reservation, picked_reservation and unused_label
   * judge final orders and orders of closed workflows: nothing will ever capture, pick or ship for them.
   */
  rule: string;
  /** The order ID, or `<warehouseId>/<sku>` for the stock rules. */
  subject: string;
  detail: string;
}

export interface InvariantFilter {
  /** Restrict the order-level rules to these orders. The stock rules always run over every row. */
  orderIds?: string[];
  /**
   * Orders whose workflow is closed or gone, as Temporal says (the tables cannot know). Judged like
   * final orders by the holding rules, and reported by `closed_workflow` while their read model is
   * not final. Unset: only final orders are judged.
   */
  closedOrderIds?: readonly string[];
}

/** A pool or a transaction: anything that can run a query. */
type Queryable = Pick<Database | Transaction, 'execute'>;

/**
 * What the customer owes, in minor units, for an order in a final status; `o` is the `orders` row.
 * The one place that says it: `completed` and `returned` owe their total less their returns' refunds; `cancelled`, `payment_failed` and
 * `rejected` owe nothing. A final status missing here owes NULL, which the money rule reports,
 * so a new final status (e.g. `returned`, or partial refunds) cannot slip through unchecked.
 */
/**
 * What shipment `n` of order `o` shipped, in minor units: its last round's units that left with a
 * carrier (a reship's round replaces the lost parcel's) at the order's prices, and the shipping
 * charge with shipment 1. From the reservations and the order's items, never from the ledger.
 */
function shippedValue(shipment: SQL): SQL {
  return sql`(
    (select coalesce(sum(r.quantity * (select (i ->> 'unitPrice')::int from jsonb_array_elements(o.view -> 'items') i
                                        where i ->> 'sku' = r.sku limit 1)), 0)
     from reservations r
     where r.order_id = o.order_id and r.shipment = ${shipment} and r.status = 'shipped'
       and r.round = (select max(r2.round) from reservations r2 where r2.order_id = r.order_id and r2.shipment = r.shipment))
    + case when ${shipment} = 1 and exists (select 1 from reservations r where r.order_id = o.order_id and r.shipment = 1 and r.status = 'shipped')
           then coalesce((o.view -> 'totals' ->> 'shipping')::int, 0) else 0 end)`;
}

/** Orders whose parcels are shipments (reservations keyed by shipment), not one parcel of the old shape. */
const inShipments = sql`exists (select 1 from reservations r where r.order_id = o.order_id and r.shipment > 0)`;

/** What a delivered order's parcels carried: the sum of its shipments' shipped value, or its total (old shape). */
const delivered = sql`(case when ${inShipments}
  then (select coalesce(sum(${shippedValue(sql`n.shipment`)}), 0)
        from (select distinct r.shipment from reservations r where r.order_id = o.order_id and r.shipment > 0) n)
  else o.total end)`;

const OWED_BY_FINAL_STATUS: Record<string, SQL> = {
  // A delivered order owes what shipped (its total, for one parcel of the old shape) less what its
  // returns refunded (by the `returns` records, written by the workflow, not by the ledger this rule checks).
  completed: sql`${delivered} - (select coalesce(sum(r.refunded), 0) from returns r where r.order_id = o.order_id)`,
  returned: sql`${delivered} - (select coalesce(sum(r.refunded), 0) from returns r where r.order_id = o.order_id)`,
  cancelled: sql`0`,
  payment_failed: sql`0`,
  rejected: sql`0`,
};

function owedExpression(): SQL {
  const branches = Object.entries(OWED_BY_FINAL_STATUS).map(([status, owed]) => sql`when ${status} then ${owed}`);
  return sql`(case o.status ${sql.join(branches, sql` `)} else null end)`;
}

const finalStatuses = sql`(${sql.join(
  FINAL_STATUSES.map((status) => sql`${status}`),
  sql`, `,
)})`;

/** Final statuses whose units left with a carrier: a `picked` line of theirs is history, not stock off the shelf. */
const SHIPPED_FINAL_STATUSES: readonly OrderStatus[] = ['completed', 'returned'];

const handedOver = sql`(${sql.join(
  HANDED_OVER_SHIPMENT_STATUSES.map((status) => sql`${status}`),
  sql`, `,
)})`;

/** Orders nothing will ever act for again: final ones, and those whose workflow is closed or gone. */
function settledOrder(filter: InvariantFilter): SQL {
  const closed = filter.closedOrderIds?.length ? sql`o.order_id in ${filter.closedOrderIds}` : sql`false`;
  return sql`(o.status in ${finalStatuses} or ${closed})`;
}

/** How a detail names the order: `cancelled order`, or `confirmed order of a closed workflow`. */
function orderLabel(status: string): string {
  return (FINAL_STATUSES as readonly string[]).includes(status)
    ? `${status} order`
    : `${status} order of a closed workflow`;
}

/** `true`, or the column restricted to the given order IDs (none given: nothing matches). */
function orderFilter(column: SQL, filter: InvariantFilter): SQL {
  if (!filter.orderIds) return sql`true`;
  if (filter.orderIds.length === 0) return sql`false`;
  return sql`${column} in ${filter.orderIds}`;
}

async function rows<T extends Record<string, unknown>>(db: Queryable, query: SQL): Promise<T[]> {
  return [...((await db.execute<T>(query)) as unknown as Iterable<T>)];
}

/** Sums come back as bigint (text from the driver); amounts and units fit a JS number. */
const num = (value: unknown): number | null => (value === null || value === undefined ? null : Number(value));

/** Per order: captured minus refunded equals what the final status owes. */
async function money(db: Queryable, filter: InvariantFilter): Promise<Violation[]> {
  const found = await rows<{
    order_id: string;
    status: string;
    total: unknown;
    captured: unknown;
    refunded: unknown;
    owed: unknown;
  }>(
    db,
    sql`
      with ledger as (
        select order_id,
               coalesce(sum(amount) filter (where kind = 'capture'), 0) as captured,
               coalesce(sum(amount) filter (where kind = 'refund'), 0) as refunded
        from payments group by order_id
      ), checked as (
        select o.order_id, o.status, o.total,
               coalesce(l.captured, 0) as captured, coalesce(l.refunded, 0) as refunded,
               ${owedExpression()} as owed
        from orders o left join ledger l on l.order_id = o.order_id
        where o.status in ${finalStatuses} and ${orderFilter(sql`o.order_id`, filter)}
      )
      select * from checked where captured - refunded is distinct from owed
      order by order_id`,
  );
  return found.map((row) => {
    const captured = num(row.captured)!;
    const refunded = num(row.refunded)!;
    const owed = num(row.owed);
    return {
      rule: 'money',
      subject: row.order_id,
      detail:
        owed === null
          ? `${row.status} order: what it owes is unknown (${row.status === 'completed' ? 'no total' : 'no owed rule for this status'}); captured ${captured}, refunded ${refunded}`
          : `${row.status} order owes ${owed} but captured ${captured} − refunded ${refunded} = ${captured - refunded}`,
    };
  });
}

/** A final order, or one whose workflow closed, never leaves an authorization hanging: it was captured or voided. */
async function openAuthorization(db: Queryable, filter: InvariantFilter): Promise<Violation[]> {
  const found = await rows<{ order_id: string; status: string; authorized: unknown }>(
    db,
    sql`
      select o.order_id, o.status, sum(p.amount) as authorized
      from orders o join payments p on p.order_id = o.order_id and p.kind = 'authorize'
      where ${settledOrder(filter)} and ${orderFilter(sql`o.order_id`, filter)}
        and not exists (select 1 from payments c where c.order_id = o.order_id and c.kind in ('capture', 'void'))
      group by o.order_id, o.status
      order by o.order_id`,
  );
  return found.map((row) => ({
    rule: 'open_authorization',
    subject: row.order_id,
    detail: `${orderLabel(row.status)} has an authorization of ${num(row.authorized)} with neither a capture nor a void`,
  }));
}

/** A final order, or one whose workflow closed, holds no stock. */
async function heldReservation(db: Queryable, filter: InvariantFilter): Promise<Violation[]> {
  const found = await rows<{ order_id: string; status: string; held: string }>(
    db,
    sql`
      select o.order_id, o.status,
             string_agg(r.quantity || ' × ' || r.sku || ' at ' || r.warehouse_id || ' (round ' || r.round || ')', ', ' order by r.round, r.sku) as held
      from orders o join reservations r on r.order_id = o.order_id and r.status = 'held'
      where ${settledOrder(filter)} and ${orderFilter(sql`o.order_id`, filter)}
      group by o.order_id, o.status
      order by o.order_id`,
  );
  return found.map((row) => ({
    rule: 'held_reservation',
    subject: row.order_id,
    detail: `${orderLabel(row.status)} still holds ${row.held}`,
  }));
}

/**
 * Picked units that will never ship go back on the shelf (`returned`): a closed workflow's, or a
 * final order's that shipped nothing. (`completed` and `returned` orders' units left with the carrier.)
 */
async function pickedReservation(db: Queryable, filter: InvariantFilter): Promise<Violation[]> {
  const shipped = sql`(${sql.join(
    SHIPPED_FINAL_STATUSES.map((status) => sql`${status}`),
    sql`, `,
  )})`;
  const found = await rows<{ order_id: string; status: string; picked: string }>(
    db,
    sql`
      select o.order_id, o.status,
             string_agg(r.quantity || ' × ' || r.sku || ' at ' || r.warehouse_id || ' (round ' || r.round || ')', ', ' order by r.round, r.sku) as picked
      from orders o join reservations r on r.order_id = o.order_id and r.status = 'picked'
      where ${settledOrder(filter)} and o.status not in ${shipped} and ${orderFilter(sql`o.order_id`, filter)}
      group by o.order_id, o.status
      order by o.order_id`,
  );
  return found.map((row) => ({
    rule: 'picked_reservation',
    subject: row.order_id,
    detail: `${orderLabel(row.status)} has picked units off the shelf that never shipped: ${row.picked}`,
  }));
}

/**
 * A label still at the dock (neither handed over nor voided) of a final order or a closed workflow is
 * billed for nothing: a shipment's label row, or a label a wave bought for one of its shipments that
 * the shipment never recorded as its own (cancelled meanwhile) and nobody voided. An abandoned
 * shipment had no label sold under its key: nothing to void.
 */
async function unusedLabel(db: Queryable, filter: InvariantFilter): Promise<Violation[]> {
  const found = await rows<{ order_id: string; status: string; labels: string }>(
    db,
    sql`
      select o.order_id, o.status, string_agg(l.label, ', ' order by l.label) as labels
      from orders o join (
        select s.order_id, s.id || ' (' || s.status || ')' as label
        from shipments s where s.status not in ${handedOver} and s.status not in ('voided', 'label_abandoned')
        union all
        select w.order_id, w.shipment_id || ' (wave ' || w.wave_id || ' label ' || w.tracking_number || ')'
        from wave_shipments w
        where w.label_status = 'sold' and not exists (select 1 from shipments s where s.tracking_number = w.tracking_number)
      ) l on l.order_id = o.order_id
      where ${settledOrder(filter)} and ${orderFilter(sql`o.order_id`, filter)}
      group by o.order_id, o.status
      order by o.order_id`,
  );
  return found.map((row) => ({
    rule: 'unused_label',
    subject: row.order_id,
    detail: `${orderLabel(row.status)} has an unused label: ${row.labels}`,
  }));
}

/** An order whose workflow is closed or gone has a final read model: nothing else will ever write it. */
async function closedWorkflow(db: Queryable, filter: InvariantFilter): Promise<Violation[]> {
  if (!filter.closedOrderIds?.length) return [];
  const found = await rows<{ order_id: string; status: string }>(
    db,
    sql`
      select o.order_id, o.status from orders o
      where o.order_id in ${filter.closedOrderIds} and o.status not in ${finalStatuses} and ${orderFilter(sql`o.order_id`, filter)}
      order by o.order_id`,
  );
  return found.map((row) => ({
    rule: 'closed_workflow',
    subject: row.order_id,
    detail: `the workflow is closed or gone but the read model says ${row.status}`,
  }));
}

/**
 * Every order (final or not): at most one capture of the old shape's kind (shipments: one per
 * shipment, by key), never more captured than authorized, never more refunded than captured.
 */
async function doubleEffect(db: Queryable, filter: InvariantFilter): Promise<Violation[]> {
  const found = await rows<{
    order_id: string;
    captures: unknown;
    authorized: unknown;
    captured: unknown;
    refunded: unknown;
  }>(
    db,
    sql`
      select order_id,
             count(*) filter (where kind = 'capture' and substring(idempotency_key from length(order_id) + 2) !~ '^capture:[0-9]+$') as captures,
             coalesce(sum(amount) filter (where kind = 'authorize'), 0) as authorized,
             coalesce(sum(amount) filter (where kind = 'capture'), 0) as captured,
             coalesce(sum(amount) filter (where kind = 'refund'), 0) as refunded
      from payments
      where ${orderFilter(sql`order_id`, filter)}
      group by order_id
      having count(*) filter (where kind = 'capture' and substring(idempotency_key from length(order_id) + 2) !~ '^capture:[0-9]+$') > 1
          or coalesce(sum(amount) filter (where kind = 'capture'), 0) > coalesce(sum(amount) filter (where kind = 'authorize'), 0)
          or coalesce(sum(amount) filter (where kind = 'refund'), 0) > coalesce(sum(amount) filter (where kind = 'capture'), 0)
      order by order_id`,
  );
  return found.flatMap((row) => {
    const captures = num(row.captures)!;
    const captured = num(row.captured)!;
    const refunded = num(row.refunded)!;
    const authorized = num(row.authorized)!;
    const problems: Violation[] = [];
    if (captured > authorized)
      problems.push({
        rule: 'double_effect',
        subject: row.order_id,
        detail: `captured ${captured}, more than the ${authorized} authorized`,
      });
    if (captures > 1)
      problems.push({
        rule: 'double_effect',
        subject: row.order_id,
        detail: `${captures} captures (${captured} in all); an order is captured once`,
      });
    if (refunded > captured)
      problems.push({
        rule: 'double_effect',
        subject: row.order_id,
        detail: `refunded ${refunded}, more than the ${captured} captured`,
      });
    return problems;
  });
}

/**
 * Per shipment of a final order: what its capture kept (captured less refunds keyed to it, returns
 * aside) is what it shipped; nothing else was captured for it.
 */
async function shipmentMoney(db: Queryable, filter: InvariantFilter): Promise<Violation[]> {
  const found = await rows<{ order_id: string; shipment: number; kept: unknown; shipped: unknown }>(
    db,
    sql`
      with shipment as (
        select distinct r.order_id, r.shipment from reservations r where r.shipment > 0
      ), money as (
        select s.order_id, s.shipment,
               coalesce(sum(p.amount) filter (where p.kind = 'capture' and p.idempotency_key = s.order_id || ':capture:' || s.shipment), 0)
               - coalesce(sum(p.amount) filter (where p.kind = 'refund' and p.idempotency_key like s.order_id || ':refund:%@' || s.shipment
                                                  and p.idempotency_key not like s.order_id || ':refund:return:%'), 0) as kept
        from shipment s left join payments p on p.order_id = s.order_id
        group by s.order_id, s.shipment
      )
      select m.order_id, m.shipment, m.kept, ${shippedValue(sql`m.shipment`)} as shipped
      from money m join orders o on o.order_id = m.order_id
      where o.status in ${finalStatuses} and ${orderFilter(sql`o.order_id`, filter)}
        and m.kept is distinct from ${shippedValue(sql`m.shipment`)}
      order by m.order_id, m.shipment`,
  );
  return found.map((row) => ({
    rule: 'shipment_money',
    subject: row.order_id,
    detail: `shipment ${row.shipment} kept ${num(row.kept)} of its capture but shipped ${num(row.shipped)}`,
  }));
}

/** Each stock row is the sum of its movements; movements without a stock row must sum to nothing. */
async function stockMatchesMovements(db: Queryable): Promise<Violation[]> {
  const found = await rows<{
    warehouse_id: string;
    sku: string;
    on_hand: unknown;
    reserved: unknown;
    moved_on_hand: unknown;
    moved_reserved: unknown;
    has_row: boolean;
  }>(
    db,
    sql`
      with moved as (
        select warehouse_id, sku, sum(on_hand_delta) as on_hand, sum(reserved_delta) as reserved
        from stock_movements group by warehouse_id, sku
      )
      select coalesce(s.warehouse_id, m.warehouse_id) as warehouse_id, coalesce(s.sku, m.sku) as sku,
             s.on_hand, s.reserved, coalesce(m.on_hand, 0) as moved_on_hand, coalesce(m.reserved, 0) as moved_reserved,
             s.sku is not null as has_row
      from stock s full join moved m on m.warehouse_id = s.warehouse_id and m.sku = s.sku
      where coalesce(s.on_hand, 0) <> coalesce(m.on_hand, 0) or coalesce(s.reserved, 0) <> coalesce(m.reserved, 0)
      order by 1, 2`,
  );
  return found.map((row) => ({
    rule: 'stock_matches_movements',
    subject: `${row.warehouse_id}/${row.sku}`,
    detail: row.has_row
      ? `stock says on_hand ${num(row.on_hand)}, reserved ${num(row.reserved)}; its movements sum to on_hand ${num(row.moved_on_hand)}, reserved ${num(row.moved_reserved)}`
      : `no stock row, but its movements sum to on_hand ${num(row.moved_on_hand)}, reserved ${num(row.moved_reserved)}`,
  }));
}

/** Never negative reservations, never more reserved than on the shelf (the CHECK constraints' job; still verified). */
async function stockBounds(db: Queryable): Promise<Violation[]> {
  const found = await rows<{ warehouse_id: string; sku: string; on_hand: number; reserved: number }>(
    db,
    sql`
      select warehouse_id, sku, on_hand, reserved from stock
      where reserved < 0 or on_hand < reserved or on_hand < 0
      order by warehouse_id, sku`,
  );
  return found.map((row) => ({
    rule: 'stock_bounds',
    subject: `${row.warehouse_id}/${row.sku}`,
    detail: `on_hand ${row.on_hand}, reserved ${row.reserved}: ${row.reserved < 0 ? 'negative reservation' : row.on_hand < row.reserved ? 'more reserved than on hand' : 'negative on hand'}`,
  }));
}

/**
 * Every violation of every rule, order-level rules first. With `orderIds`, the order-level rules
 * (money, closed_workflow, open_authorization, held_reservation, picked_reservation, unused_label,
 * double_effect) look only at those orders; the stock rules always cover all stock. `closedOrderIds`
 * (from Temporal) lets the rules see orders whose workflow was terminated or is gone.
 */
export async function checkInvariants(db: Queryable, filter: InvariantFilter = {}): Promise<Violation[]> {
  const results = [
    await money(db, filter),
    await closedWorkflow(db, filter),
    await openAuthorization(db, filter),
    await heldReservation(db, filter),
    await pickedReservation(db, filter),
    await unusedLabel(db, filter),
    await doubleEffect(db, filter),
    await shipmentMoney(db, filter),
    await stockMatchesMovements(db),
    await stockBounds(db),
  ];
  return results.flat();
}
