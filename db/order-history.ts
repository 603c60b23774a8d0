import { sql } from 'drizzle-orm';
import { createHash } from 'node:crypto';
import type { OrderView, OrderWorkflowInput, ReturnView, ShipmentView, TimelineEvent } from '../domain/order.js';
import { DEFAULT_HIGH_VALUE_ORDER, orderPriority } from '../domain/priority.js';
import type { returnReasons } from '../domain/returns.js';
import type { Channel, CreateOrderRequest, ShippingSpeed } from '../domain/schemas.js';
import { FINAL_STATUSES, type OrderStatus, type ShipmentStatus } from '../domain/statuses.js';
import type { Database } from './client.js';
import { DEMO_PRODUCTS } from './seed.js';

/**
 * The documented seeding path for history (issue 11): order lives that already happened, written
 * as the rows the order workflow's activities write — the `orders` read model (snapshot and
 * input), its `order_events` timeline, `shipments`, `returns` and the `payments` ledger — so the
 * KPIs, `GET /orders/{id}` and the dashboard read them like any other order. Nothing runs in
 * Temporal for them (a workflow cannot be started in the past), stock is not touched (their units
 * left long ago), and the simulators' own books are not written. Every event lies in the past;
 * an order whose next step would be in the future stops there, open, as a running order would.
 *
 * `npm run demo:load` and `npm run bench:kpis` use it; order IDs start with `hist-` (or the prefix
 * given), so the rows are easy to tell apart and to delete.
 */

export interface HistoryOptions {
  orders: number;
  /** Orders are placed uniformly at random between these two instants. */
  from: Date;
  to: Date;
  /** Nothing happens after this (default: now). */
  now?: Date;
  seed?: number;
  prefix?: string;
  /** Called after each batch is written. */
  progress?: (done: number, total: number) => void;
  /** The shop's return window for these orders (their policy): 30 days unless given. */
  returnWindowDays?: number;
  /**
   * Write only orders whose life is over by `now` (a final status). Every non-final order has a
   * workflow in this system, and the reconciler treats one without as an orphan (it cancels or
   * parks it): a database the worker runs against must get only finished orders.
   */
  finalOnly?: boolean;
  batchSize?: number;
}

interface OrderRows {
  order: Record<string, unknown>;
  events: { order_id: string; seq: number; type: string; status: string; detail: string | null; at: string }[];
  shipments: Record<string, unknown>[];
  returns: Record<string, unknown>[];
  payments: Record<string, unknown>[];
}

/** A small seeded PRNG (mulberry32): the same seed gives the same history. */
function random(seed: number) {
  let state = seed >>> 0;
  const next = () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const pick = <T>(weighted: readonly (readonly [T, number])[]): T => {
    const total = weighted.reduce((sum, [, w]) => sum + w, 0);
    let roll = next() * total;
    for (const [value, w] of weighted) {
      roll -= w;
      if (roll < 0) return value;
    }
    return weighted[weighted.length - 1]![0];
  };
  const between = (low: number, high: number) => low + next() * (high - low);
  return { next, pick, between, chance: (p: number) => next() < p };
}

const HOUR = 3_600_000;
const DAY = 24 * HOUR;

const CHANNELS: readonly (readonly [Channel, number])[] = [
  ['web', 55],
  ['marketplace', 25],
  ['social', 12],
  ['phone', 8],
];
const SPEEDS: readonly (readonly [ShippingSpeed, number])[] = [
  ['standard', 70],
  ['expedited', 22],
  ['overnight', 8],
];
const PROMISE_DAYS: Record<ShippingSpeed, number> = { standard: 5, expedited: 3, overnight: 1 };
const CARRIER_OF: Record<ShippingSpeed, [string, string]> = {
  standard: ['parcelpost', 'ground'],
  expedited: ['swiftship', 'express'],
  overnight: ['swiftship', 'overnight'],
};
const WAREHOUSES: readonly (readonly [string, number])[] = [
  ['wh-east', 45],
  ['wh-west', 35],
  ['wh-central', 20],
];
type Reason = (typeof returnReasons)[number];
const RETURN_REASONS: readonly (readonly [Reason, number])[] = [
  ['no_longer_needed', 30],
  ['size_or_fit', 25],
  ['damaged', 15],
  ['not_as_described', 12],
  ['wrong_item', 8],
  ['other', 10],
];
const CANCEL_REASONS: readonly (readonly [string, number])[] = [
  ['customer changed their mind', 45],
  ['ordered by mistake', 20],
  ['found it cheaper', 15],
  ['delivery too slow', 12],
  ['duplicate order', 8],
];
const CITIES = [
  { city: 'Seattle', region: 'WA', postalCode: '98101' },
  { city: 'Austin', region: 'TX', postalCode: '73301' },
  { city: 'Boston', region: 'MA', postalCode: '02108' },
  { city: 'Denver', region: 'CO', postalCode: '80202' },
  { city: 'Miami', region: 'FL', postalCode: '33101' },
  { city: 'Chicago', region: 'IL', postalCode: '60601' },
];

/** One order's life, from its placement to `now` at the latest. */
function simulateOrder(
  orderId: string,
  placedAt: number,
  now: number,
  rng: ReturnType<typeof random>,
  returnWindowDays: number,
): OrderRows {
  const channel = rng.pick(CHANNELS);
  const speed = rng.pick(SPEEDS);
  const warehouseId = rng.pick(WAREHOUSES);
  const customerNumber = Math.floor(rng.next() * 5000);
  const place = CITIES[Math.floor(rng.next() * CITIES.length)]!;
  const lineCount = rng.pick([
    [1, 60],
    [2, 30],
    [3, 10],
  ] as const);
  const chosen = new Set<number>();
  while (chosen.size < lineCount) chosen.add(Math.floor(rng.next() * DEMO_PRODUCTS.length));
  const lines = [...chosen].map((index) => ({
    product: DEMO_PRODUCTS[index]!,
    quantity: rng.pick([
      [1, 75],
      [2, 20],
      [3, 5],
    ] as const),
  }));
  const subtotal = lines.reduce((sum, line) => sum + line.product.price * line.quantity, 0);
  const shipping = { standard: 0, expedited: 990, overnight: 2490 }[speed];
  const total = subtotal + shipping;
  const request: CreateOrderRequest = {
    orderId,
    customer: {
      id: `cust-${customerNumber}`,
      email: `customer${customerNumber}@example.com`,
      name: `Customer ${customerNumber}`,
    },
    channel,
    items: lines.map((line) => ({ sku: line.product.sku, quantity: line.quantity })),
    shippingAddress: {
      name: `Customer ${customerNumber}`,
      line1: `${1 + (customerNumber % 400)} Main St`,
      ...place,
      country: 'US',
    },
    shippingSpeed: speed,
    payment: { token: 'tok_visa' },
  };
  const receivedAt = new Date(placedAt).toISOString();
  const cancellableUntil = new Date(placedAt + 30 * 60_000).toISOString();
  const input: OrderWorkflowInput = {
    request,
    requestHash: createHash('sha256').update(JSON.stringify(request)).digest('hex'),
    receivedAt,
    cancellableUntil,
    policy: {
      cancellationBuffer: '30m',
      returnWindow: `${returnWindowDays}d`,
      warehouseTaskSla: '4h',
      warehouseTaskAttempts: 3,
      deliveryGrace: '2d',
      backorderPolicy: 'wait',
      backorderWait: '7d',
      backorderRetryInterval: '1h',
      deliveryExceptionWait: '3d',
      deliveryExceptionPolicy: 'reship',
      returnShippingWindow: '14d',
      feedbackDelay: '3d',
    },
    priority: orderPriority({ shippingSpeed: speed, total, highValueOrder: DEFAULT_HIGH_VALUE_ORDER }),
  };

  const timeline: TimelineEvent[] = [{ seq: 0, at: receivedAt, type: 'order_received', status: 'received' }];
  let status = 'received' as OrderStatus;
  let clock = placedAt;
  let stopped = false;
  /** Records a milestone `afterMs` after the previous one, unless that is still in the future. */
  const event = (afterMs: number, type: string, next: OrderStatus = status, detail?: string): boolean => {
    if (stopped) return false;
    const at = clock + Math.max(1000, afterMs);
    if (at > now) {
      stopped = true;
      return false;
    }
    clock = at;
    status = next;
    timeline.push({
      seq: timeline.length,
      at: new Date(at).toISOString(),
      type,
      status: next,
      ...(detail ? { detail } : {}),
    });
    return true;
  };

  const payment = { status: 'pending' as OrderView['payment']['status'], authorized: 0, captured: 0, refunded: 0 };
  const payments: Record<string, unknown>[] = [];
  const pay = (kind: 'authorize' | 'capture' | 'void' | 'refund', amount: number, step: string = kind) =>
    payments.push({
      idempotency_key: `${orderId}:${step}`,
      order_id: orderId,
      kind,
      amount,
      currency: 'USD',
      gateway_reference: `hist_${kind}_${orderId}_${step}`,
      at: new Date(clock).toISOString(),
    });
  let shipment: ShipmentView | null = null;
  const shipments: Record<string, unknown>[] = [];
  const returns: ReturnView[] = [];
  let cancellation: OrderView['cancellation'] = null;
  let attention: string | null = null;
  let returnableUntil: string | null = null;
  let deliveryAttempts = 0;

  const cancel = (type: string, reason: string, by: string, free: boolean) => {
    if (!event(rng.between(0.1, 0.4) * HOUR, type, 'cancelled', reason)) return;
    if (payment.captured > 0) {
      pay('refund', payment.captured, 'cancel-refund');
      payment.refunded = payment.captured;
      payment.status = 'refunded';
    } else if (payment.authorized > 0) {
      pay('void', payment.authorized);
      payment.status = 'voided';
    }
    if (type === 'order_cancelled') cancellation = { reason, requestedBy: by, free };
  };

  const ship = (number: number): boolean => {
    if (!event(rng.between(1, 8) * HOUR, 'picked')) return false;
    if (!event(rng.between(0.3, 2) * HOUR, 'packed', 'processing', 'box M, 1200 g')) return false;
    const [carrier, service] = CARRIER_OF[speed];
    const trackingNumber = `H${createHash('sha1').update(`${orderId}-${number}`).digest('hex').slice(0, 14).toUpperCase()}`;
    if (!event(rng.between(0.05, 0.5) * HOUR, 'label_created', 'processing', `${carrier} ${service} ${trackingNumber}`))
      return false;
    // The carrier's promise: end of the day so many days after the label.
    const promise = new Date(clock + PROMISE_DAYS[speed] * DAY);
    promise.setUTCHours(23, 59, 59, 0);
    shipment = {
      shipmentId: `${orderId}-${number}`,
      carrier,
      service,
      trackingNumber,
      status: 'label_created',
      box: 'M',
      weightGrams: 1200,
      promisedBy: promise.toISOString(),
    };
    shipments.push({
      id: shipment.shipmentId,
      order_id: orderId,
      carrier,
      service,
      tracking_number: trackingNumber,
      status: 'label_created',
      box: 'M',
      weight_grams: 1200,
      label_cost: { standard: 650, expedited: 1290, overnight: 2890 }[speed],
      currency: 'USD',
      promised_by: shipment.promisedBy,
      created_at: new Date(clock).toISOString(),
    });
    if (!event(rng.between(0.5, 6) * HOUR, 'shipped', 'shipped', `${carrier} ${trackingNumber}`)) return false;
    setShipmentStatus('shipped');
    return true;
  };
  const setShipmentStatus = (next: ShipmentStatus) => {
    shipment = { ...shipment!, status: next };
    shipments[shipments.length - 1]!.status = next;
  };

  // Reserve and authorize.
  const declined = rng.chance(0.015);
  const rejected = !declined && rng.chance(0.008);
  const backordered = !declined && !rejected && rng.chance(0.02);
  if (rejected) {
    event(rng.between(1, 10) * 1000, 'order_rejected', 'rejected', 'not enough stock at any warehouse');
  } else {
    if (backordered) {
      event(rng.between(1, 10) * 1000, 'backordered', 'backordered', 'waiting for stock');
      if (rng.chance(0.5)) cancel('backorder_expired', 'no stock arrived within 7d', 'system', true);
      else event(rng.between(6, 72) * HOUR, 'stock_reserved', 'received', `at ${warehouseId}`);
    } else {
      event(rng.between(1, 10) * 1000, 'stock_reserved', 'received', `at ${warehouseId}`);
    }
    if (status === 'received' && !stopped) {
      if (declined) {
        event(rng.between(1, 5) * 1000, 'payment_declined', 'payment_failed', 'card declined');
        payment.status = 'declined';
      } else if (event(rng.between(1, 5) * 1000, 'order_confirmed', 'confirmed')) {
        payment.status = 'authorized';
        payment.authorized = total;
        pay('authorize', total);
        const cancelledInBuffer = rng.chance(0.03);
        if (cancelledInBuffer) {
          cancel('order_cancelled', rng.pick(CANCEL_REASONS), 'customer', true);
        } else if (event(placedAt + 30 * 60_000 - clock, 'payment_captured', 'processing')) {
          payment.status = 'captured';
          payment.captured = total;
          pay('capture', total);
          event(rng.between(1, 30) * 60_000, 'warehouse_tasks', 'processing');
          const parked = placedAt > now - 5 * DAY && rng.chance(0.01);
          if (rng.chance(0.008)) cancel('order_cancelled', rng.pick(CANCEL_REASONS), 'support-desk', false);
          else if (parked) {
            event(4 * HOUR, 'pick_late', 'processing', `${orderId}-pick not done within 4h`);
            event(4 * HOUR, 'pick_late', 'processing', `${orderId}-pick not done within 4h`);
            event(4 * HOUR, 'pick_late', 'processing', `${orderId}-pick not done within 4h`);
            attention = 'the warehouse did not complete the pick after 3 attempts';
            if (!event(1000, 'needs_attention', 'needs_attention', attention)) attention = null;
          } else {
            if (rng.chance(0.004))
              event(rng.between(1, 4) * HOUR, 'pick_rejected', 'processing', 'done, but it failed the check');
            if (rng.chance(0.01))
              event(
                rng.between(1, 4) * HOUR,
                'short_pick',
                'processing',
                `1 × ${lines[0]!.product.sku} damaged at ${warehouseId}`,
              );
            if (ship(1)) trackAndReturn();
          }
        }
      }
    }
  }

  function trackAndReturn(): void {
    let delivered = false;
    for (let attempt = 1; attempt <= 2 && !delivered && !stopped; attempt += 1) {
      const transitDays = {
        standard: rng.between(1.5, 5.2),
        expedited: rng.between(1, 3.2),
        overnight: rng.between(0.5, 1.15),
      }[speed];
      if (!event(rng.between(3, 12) * HOUR, 'in_transit', 'in_transit')) return;
      setShipmentStatus('in_transit');
      const trouble = attempt === 1 && rng.chance(0.015);
      if (trouble) {
        if (!event(transitDays * DAY, 'delivery_exception', 'delivery_exception', 'the carrier reported an exception'))
          return;
        attention = 'the carrier reported an exception';
        const fate = rng.pick([
          ['found', 50],
          ['lost', 35],
          ['sender', 15],
        ] as const);
        if (fate === 'found') {
          if (
            !event(
              rng.between(0.5, 2.5) * DAY,
              'delivery_exception_closed',
              'delivery_exception',
              'delivered after all',
            )
          )
            return;
        } else if (fate === 'lost') {
          if (!event(3 * DAY, 'parcel_lost', 'delivery_exception', `${shipment!.trackingNumber} not found within 3d`))
            return;
          setShipmentStatus('lost');
          attention = null;
          if (!event(1000, 'reship_started', 'processing', `${shipment!.trackingNumber} lost; shipping again`)) return;
          if (!ship(2)) return;
          continue;
        } else {
          for (let i = 1; i <= 3; i += 1) {
            deliveryAttempts = i;
            if (!event(DAY, 'delivery_failed', 'delivery_exception', `attempt ${i}`)) return;
          }
          setShipmentStatus('returned_to_sender');
          if (!event(1000, 'returned_to_sender', 'delivery_exception', 'after 3 failed attempts')) return;
          // As the workflow does: the parcel back is a return of every unit, refunded in full once received.
          const returnId = `${orderId}-r1`;
          const ret: ReturnView = {
            returnId,
            status: 'authorized',
            reason: 'returned_to_sender',
            comment: null,
            items: lines.map((line) => ({ sku: line.product.sku, quantity: line.quantity })),
            returnLabel: null,
            expiresAt: new Date(clock + 14 * DAY).toISOString(),
            units: [],
            refunded: 0,
            createdAt: new Date(clock).toISOString(),
          };
          returns.push(ret);
          if (!event(rng.between(2, 5) * DAY, 'order_returned', 'returned', 'every unit came back')) return;
          Object.assign(ret, {
            status: 'refunded',
            units: ret.items.map((item) => ({ ...item, condition: 'resalable' })),
            refunded: total,
          });
          pay('refund', total, `${returnId}-refund`);
          payment.refunded = total;
          payment.status = 'refunded';
          attention = null;
          return;
        }
      } else {
        if (!event(transitDays * DAY * 0.8, 'out_for_delivery', 'out_for_delivery')) return;
        setShipmentStatus('out_for_delivery');
        if (!event(transitDays * DAY * 0.2, 'delivered', 'delivered')) return;
        delivered = true;
        break;
      }
      if (!event(1000, 'delivered', 'delivered')) return;
      delivered = true;
    }
    if (!delivered) return;
    attention = null;
    setShipmentStatus('delivered');
    returnableUntil = new Date(clock + returnWindowDays * DAY).toISOString();
    if (rng.chance(0.07)) {
      const reason = rng.pick(RETURN_REASONS);
      const line = lines[Math.floor(rng.next() * lines.length)]!;
      const quantity = 1 + Math.floor(rng.next() * line.quantity);
      const returnId = `${orderId}-r1`;
      if (
        event(
          rng.between(0.2, Math.min(12, returnWindowDays * 0.8)) * DAY,
          'return_authorized',
          status,
          `${returnId} (${reason}): ${quantity} × ${line.product.sku}`,
        )
      ) {
        const ret: ReturnView = {
          returnId,
          status: 'authorized',
          reason,
          comment: null,
          items: [{ sku: line.product.sku, quantity }],
          returnLabel: {
            carrier: 'parcelpost',
            trackingNumber: `R${createHash('sha1').update(returnId).digest('hex').slice(0, 14).toUpperCase()}`,
          },
          expiresAt: new Date(clock + 14 * DAY).toISOString(),
          units: [],
          refunded: 0,
          createdAt: new Date(clock).toISOString(),
        };
        returns.push(ret);
        const amount = quantity * line.product.price;
        if (event(rng.between(3, 8) * DAY, 'return_refunded', status, `${returnId}: refunded`)) {
          ret.status = 'refunded';
          ret.units = [{ sku: line.product.sku, quantity, condition: reason === 'damaged' ? 'damaged' : 'resalable' }];
          ret.refunded = amount;
          pay('refund', amount, `${returnId}-refund`);
          payment.refunded = amount;
          payment.status = 'refunded';
        }
      }
    }
    const everything = lines.reduce((sum, line) => sum + line.quantity, 0);
    const back = returns.reduce((sum, ret) => sum + ret.units.reduce((s, u) => s + u.quantity, 0), 0);
    if (Date.parse(returnableUntil) <= now && returns.every((ret) => ret.status === 'refunded')) {
      clock = Math.max(clock, Date.parse(returnableUntil));
      event(
        1000,
        everything === back ? 'order_returned' : 'order_completed',
        everything === back ? 'returned' : 'completed',
      );
    }
  }

  const parcel = shipment as ShipmentView | null;
  const view: Omit<OrderView, 'timeline'> = {
    orderId,
    status,
    customer: request.customer,
    channel,
    priority: input.priority!,
    items: lines.map((line) => ({
      sku: line.product.sku,
      name: line.product.name,
      quantity: line.quantity,
      unitPrice: line.product.price,
    })),
    totals: { subtotal, shipping, total, currency: 'USD' },
    payment,
    shippingSpeed: speed,
    shippingAddress: request.shippingAddress,
    // One parcel per generated order, from its warehouse, once stock was reserved.
    shipments:
      status === 'rejected' || (status === 'backordered' && !timeline.some((e) => e.type === 'stock_reserved'))
        ? []
        : [
            {
              shipmentId: `${orderId}-1`,
              warehouseId,
              items: lines.map((line) => ({ sku: line.product.sku, quantity: line.quantity })),
              status: parcel?.status ?? (status === 'cancelled' ? 'cancelled' : 'reserved'),
              carrier: parcel?.carrier ?? null,
              service: parcel?.service ?? null,
              trackingNumber: parcel?.trackingNumber ?? null,
              promisedBy: parcel?.promisedBy ?? null,
              waveId: null,
              priority: null,
              timeline: [],
            },
          ],
    receivedAt,
    cancellableUntil,
    returnableUntil,
    attention: status === 'needs_attention' || status === 'delivery_exception' ? attention : null,
    cancellation,
    deliveryAttempts,
    returns,
  };
  const last = timeline[timeline.length - 1]!;
  return {
    order: {
      order_id: orderId,
      status,
      customer_id: request.customer.id,
      channel,
      request_hash: input.requestHash,
      version: last.seq,
      input,
      view,
      total,
      currency: 'USD',
      cancellable_until: cancellableUntil,
      returnable_until: returnableUntil,
      created_at: receivedAt,
      updated_at: last.at,
      workflow_started_at: receivedAt,
    },
    events: timeline.map((e) => ({
      order_id: orderId,
      seq: e.seq,
      type: e.type,
      status: e.status,
      detail: e.detail ?? null,
      at: e.at,
    })),
    shipments,
    returns: returns.map((ret) => ({
      return_id: ret.returnId,
      order_id: orderId,
      status: ret.status,
      reason: ret.reason,
      comment: ret.comment,
      items: ret.items,
      units: ret.units,
      label_carrier: ret.returnLabel?.carrier ?? null,
      label_tracking_number: ret.returnLabel?.trackingNumber ?? null,
      expires_at: ret.expiresAt,
      refunded: ret.refunded,
      created_at: ret.createdAt,
      updated_at: ret.createdAt,
    })),
    payments,
  };
}

/** Writes a batch of order lives in one transaction; rows already there are left as they are. */
async function writeBatch(db: Database, batch: OrderRows[]): Promise<void> {
  const json = (rows: unknown[]) => JSON.stringify(rows);
  await db.transaction(async (tx) => {
    await tx.execute(sql`
      insert into orders (order_id, status, customer_id, channel, request_hash, version, input, view, total, currency, cancellable_until, returnable_until, created_at, updated_at, workflow_started_at)
      select order_id, status, customer_id, channel, request_hash, version, input, view, total, currency, cancellable_until, returnable_until, created_at, updated_at, workflow_started_at
      from jsonb_to_recordset(${json(batch.map((rows) => rows.order))}::jsonb) as x(order_id text, status text, customer_id text, channel text, request_hash text, version int,
        input jsonb, view jsonb, total int, currency text, cancellable_until timestamptz, returnable_until timestamptz, created_at timestamptz, updated_at timestamptz, workflow_started_at timestamptz)
      on conflict (order_id) do nothing`);
    await tx.execute(sql`
      insert into order_events (order_id, seq, type, status, detail, at)
      select order_id, seq, type, status, detail, at
      from jsonb_to_recordset(${json(batch.flatMap((rows) => rows.events))}::jsonb) as x(order_id text, seq int, type text, status text, detail text, at timestamptz)
      on conflict do nothing`);
    await tx.execute(sql`
      insert into shipments (id, order_id, carrier, service, tracking_number, status, box, weight_grams, label_cost, currency, promised_by, created_at, updated_at)
      select id, order_id, carrier, service, tracking_number, status, box, weight_grams, label_cost, currency, promised_by, created_at, created_at
      from jsonb_to_recordset(${json(batch.flatMap((rows) => rows.shipments))}::jsonb) as x(id text, order_id text, carrier text, service text, tracking_number text,
        status text, box text, weight_grams int, label_cost int, currency text, promised_by timestamptz, created_at timestamptz)
      on conflict do nothing`);
    await tx.execute(sql`
      insert into returns (return_id, order_id, status, reason, comment, items, units, label_carrier, label_tracking_number, expires_at, refunded, created_at, updated_at)
      select return_id, order_id, status, reason, comment, items, units, label_carrier, label_tracking_number, expires_at, refunded, created_at, updated_at
      from jsonb_to_recordset(${json(batch.flatMap((rows) => rows.returns))}::jsonb) as x(return_id text, order_id text, status text, reason text, comment text, items jsonb,
        units jsonb, label_carrier text, label_tracking_number text, expires_at timestamptz, refunded int, created_at timestamptz, updated_at timestamptz)
      on conflict do nothing`);
    await tx.execute(sql`
      insert into payments (idempotency_key, order_id, kind, amount, currency, gateway_reference, created_at)
      select idempotency_key, order_id, kind, amount, currency, gateway_reference, at
      from jsonb_to_recordset(${json(batch.flatMap((rows) => rows.payments))}::jsonb) as x(idempotency_key text, order_id text, kind text, amount int, currency text, gateway_reference text, at timestamptz)
      on conflict do nothing`);
  });
}

/**
 * Writes `orders` order lives placed between `from` and `to` (with `finalOnly`, only those already
 * over). Returns how many were written.
 */
export async function loadOrderHistory(db: Database, options: HistoryOptions): Promise<number> {
  const rng = random(options.seed ?? 11);
  const now = (options.now ?? new Date()).getTime();
  const from = options.from.getTime();
  const span = Math.min(options.to.getTime(), now) - from;
  const prefix = options.prefix ?? 'hist';
  const batchSize = options.batchSize ?? 1000;
  // Busier in the daytime (US hours) and on weekdays: placements are drawn against that shape.
  const placedAt = () => {
    for (;;) {
      const at = from + rng.next() * span;
      const date = new Date(at);
      const hour = date.getUTCHours();
      const weight =
        (hour >= 13 || hour <= 3 ? 1 : 0.35) * (date.getUTCDay() === 0 || date.getUTCDay() === 6 ? 0.75 : 1);
      if (rng.next() < weight) return Math.floor(at);
    }
  };
  let done = 0;
  let written = 0;
  while (done < options.orders) {
    const batch: OrderRows[] = [];
    for (let i = 0; i < batchSize && done + i < options.orders; i += 1) {
      batch.push(
        simulateOrder(
          `${prefix}-${String(done + i + 1).padStart(6, '0')}`,
          placedAt(),
          now,
          rng,
          options.returnWindowDays ?? 30,
        ),
      );
    }
    const kept = options.finalOnly
      ? batch.filter((rows) => (FINAL_STATUSES as readonly string[]).includes(rows.order.status as string))
      : batch;
    if (kept.length > 0) await writeBatch(db, kept);
    written += kept.length;
    done += batch.length;
    options.progress?.(done, options.orders);
  }
  // What autovacuum does to a table after a bulk load: the facts rows the triggers rewrote leave dead
  // versions behind, and the planner needs fresh statistics.
  await db.execute(sql`vacuum (analyze) order_facts, orders, order_events, shipments, returns`);
  return written;
}

/** Removes what `loadOrderHistory` wrote under a prefix. */
export async function deleteOrderHistory(db: Database, prefix = 'hist'): Promise<void> {
  const like = `${prefix}-%`;
  await db.transaction(async (tx) => {
    for (const table of ['order_events', 'shipments', 'returns', 'payments', 'notifications', 'orders']) {
      await tx.execute(sql`delete from ${sql.identifier(table)} where order_id like ${like}`);
    }
  });
}
