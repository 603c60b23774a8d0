import { sql } from 'drizzle-orm';
import {
  bigserial,
  boolean,
  check,
  doublePrecision,
  index,
  integer,
  jsonb,
  pgTable,
  primaryKey,
  text,
  timestamp,
  uniqueIndex,
} from 'drizzle-orm/pg-core';
import type { OrderView, OrderWorkflowInput } from '../domain/order.js';
import type { ShippingAddress } from '../domain/schemas.js';
import type { PickZone } from '../domain/waves.js';

const createdAt = () => timestamp('created_at', { withTimezone: true }).notNull().defaultNow();

export const products = pgTable(
  'products',
  {
    sku: text('sku').primaryKey(),
    name: text('name').notNull(),
    /** Minor units (cents). */
    price: integer('price').notNull(),
    currency: text('currency').notNull(),
    weightGrams: integer('weight_grams').notNull(),
    lengthMm: integer('length_mm').notNull(),
    widthMm: integer('width_mm').notNull(),
    heightMm: integer('height_mm').notNull(),
    /** Where pickers find it: the zone of the floor, and the bin (aisle-shelf), sortable in walking order. */
    zone: text('zone').notNull().default('A'),
    bin: text('bin').notNull().default('A-00-00'),
  },
  (t) => [
    check('products_price_positive', sql`${t.price} > 0`),
    check(
      'products_dimensions_positive',
      sql`${t.weightGrams} > 0 and ${t.lengthMm} > 0 and ${t.widthMm} > 0 and ${t.heightMm} > 0`,
    ),
  ],
);

export const warehouses = pgTable('warehouses', {
  id: text('id').primaryKey(),
  name: text('name').notNull(),
  city: text('city').notNull(),
  region: text('region').notNull(),
  country: text('country').notNull(),
  lat: doublePrecision('lat').notNull(),
  lon: doublePrecision('lon').notNull(),
  /** IANA time zone: carrier cut-offs are in the warehouse's local time. */
  timeZone: text('time_zone').notNull().default('UTC'),
});

/** Units per warehouse and sku. `reserved` are promised to orders but still on the shelf. */
export const stock = pgTable(
  'stock',
  {
    warehouseId: text('warehouse_id')
      .notNull()
      .references(() => warehouses.id),
    sku: text('sku')
      .notNull()
      .references(() => products.sku),
    onHand: integer('on_hand').notNull().default(0),
    reserved: integer('reserved').notNull().default(0),
  },
  (t) => [
    primaryKey({ columns: [t.warehouseId, t.sku] }),
    check('stock_reserved_not_negative', sql`${t.reserved} >= 0`),
    check('stock_reserved_within_on_hand', sql`${t.reserved} <= ${t.onHand}`),
  ],
);

/**
 * Every change to `stock`, written in the same transaction as the change. The unique key makes
 * a retried activity a no-op, and summing the deltas must always give the stock row.
 */
export const stockMovements = pgTable(
  'stock_movements',
  {
    id: bigserial('id', { mode: 'number' }).primaryKey(),
    idempotencyKey: text('idempotency_key').notNull(),
    warehouseId: text('warehouse_id').notNull(),
    sku: text('sku').notNull(),
    /** restock | adjustment | reserve | release | pick */
    kind: text('kind').notNull(),
    onHandDelta: integer('on_hand_delta').notNull(),
    reservedDelta: integer('reserved_delta').notNull(),
    orderId: text('order_id'),
    reason: text('reason'),
    at: createdAt(),
  },
  (t) => [
    uniqueIndex('stock_movements_idempotency_key').on(t.idempotencyKey),
    index('stock_movements_order').on(t.orderId),
  ],
);

/**
 * What an order holds at a warehouse: `held` until picked (`picked`) or given back (`released`);
 * picked units put back after a cancel are `returned`; picked units the carrier took are `shipped`.
 * A short pick ends a round and the order
 * reserves again in the next one.
 */
export const reservations = pgTable(
  'reservations',
  {
    orderId: text('order_id').notNull(),
    /**
     * The shipment (`<orderId>-<n>`) the units are held for: n, or 0 for orders of the old shape,
     * whose one parcel held every line. One line of an order may be held at two warehouses for two shipments.
     */
    shipment: integer('shipment').notNull().default(0),
    round: integer('round').notNull().default(1),
    sku: text('sku').notNull(),
    warehouseId: text('warehouse_id').notNull(),
    quantity: integer('quantity').notNull(),
    status: text('status').notNull(),
    createdAt: createdAt(),
    updatedAt: timestamp('updated_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [
    primaryKey({ columns: [t.orderId, t.shipment, t.round, t.sku] }),
    check('reservations_quantity_not_negative', sql`${t.quantity} >= 0`),
  ],
);

/** The payment ledger: one row per money effect at the gateway, never updated. */
export const payments = pgTable(
  'payments',
  {
    id: bigserial('id', { mode: 'number' }).primaryKey(),
    idempotencyKey: text('idempotency_key').notNull(),
    orderId: text('order_id').notNull(),
    /** authorize | capture | void | refund */
    kind: text('kind').notNull(),
    amount: integer('amount').notNull(),
    currency: text('currency').notNull(),
    /** The gateway's reference for this effect. */
    gatewayReference: text('gateway_reference').notNull(),
    at: createdAt(),
  },
  (t) => [
    uniqueIndex('payments_idempotency_key').on(t.idempotencyKey),
    index('payments_order').on(t.orderId),
    check('payments_amount_not_negative', sql`${t.amount} >= 0`),
  ],
);

/**
 * One parcel of an order (`<orderId>-<shipmentNumber>`). The carrier and service are chosen and
 * saved before the label is bought, so a retried purchase buys the same one under the same key.
 * Status:
 * - `label_pending`: carrier and service chosen, the label not known to be bought (no tracking number, no cost);
 * - `label_abandoned`: the order closed while pending and the carrier had sold no label under its key;
 * - `label_created`: bought, at the dock; `voided`: bought and voided at the carrier (not billed);
 * - then the order's shipping progress, written by the read model: shipped, in_transit,
 *   out_for_delivery, delivered, lost, returned_to_sender.
 */
export const shipments = pgTable(
  'shipments',
  {
    id: text('id').primaryKey(),
    orderId: text('order_id').notNull(),
    carrier: text('carrier').notNull(),
    service: text('service').notNull(),
    /** Null until the label is bought. */
    trackingNumber: text('tracking_number'),
    status: text('status').notNull(),
    box: text('box').notNull(),
    weightGrams: integer('weight_grams').notNull(),
    /** What the label cost us, minor units; null until it is bought. */
    labelCost: integer('label_cost'),
    currency: text('currency').notNull(),
    promisedBy: timestamp('promised_by', { withTimezone: true }).notNull(),
    createdAt: createdAt(),
    updatedAt: timestamp('updated_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [
    uniqueIndex('shipments_tracking_number').on(t.trackingNumber),
    index('shipments_order').on(t.orderId),
    // A label is bought exactly when it has a tracking number and a cost.
    check(
      'shipments_label_bought',
      sql`(${t.status} in ('label_pending', 'label_abandoned')) = (${t.trackingNumber} is null) and (${t.trackingNumber} is null) = (${t.labelCost} is null)`,
    ),
  ],
);

export const trackingEvents = pgTable(
  'tracking_events',
  {
    id: bigserial('id', { mode: 'number' }).primaryKey(),
    trackingNumber: text('tracking_number').notNull(),
    type: text('type').notNull(),
    at: timestamp('at', { withTimezone: true }).notNull(),
    location: text('location'),
    detail: text('detail'),
    receivedAt: createdAt(),
  },
  (t) => [uniqueIndex('tracking_events_once').on(t.trackingNumber, t.type, t.at)],
);

/**
 * The orders read model. The workflow is the source of truth while an order runs; this row is
 * its latest snapshot, written by an idempotent activity at every status change.
 */
export const orders = pgTable(
  'orders',
  {
    orderId: text('order_id').primaryKey(),
    status: text('status').notNull(),
    customerId: text('customer_id').notNull(),
    channel: text('channel').notNull(),
    /** sha256 of the canonical create request, to tell an idempotent retry from a conflicting reuse of the ID. */
    requestHash: text('request_hash').notNull(),
    /** Timeline sequence number of the latest snapshot; an older snapshot never overwrites a newer one. */
    version: integer('version').notNull().default(0),
    /** What the workflow was started with, so a retried create can start it if the first try could not. */
    input: jsonb('input').$type<OrderWorkflowInput>().notNull(),
    /**
     * When Temporal accepted the order's workflow; null while the API that inserted the row is still
     * starting it. A create retried once this is set answers from this row and never starts a run
     * again (Temporal forgets closed runs after retention). A row the workflow writes itself is
     * started by definition, hence the default; the API inserts null explicitly.
     */
    workflowStartedAt: timestamp('workflow_started_at', { withTimezone: true }).defaultNow(),
    view: jsonb('view').$type<Omit<OrderView, 'timeline'>>().notNull(),
    total: integer('total'),
    currency: text('currency'),
    cancellableUntil: timestamp('cancellable_until', { withTimezone: true }).notNull(),
    returnableUntil: timestamp('returnable_until', { withTimezone: true }),
    createdAt: createdAt(),
    updatedAt: timestamp('updated_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [
    index('orders_status_created').on(t.status, t.createdAt, t.orderId),
    index('orders_customer_created').on(t.customerId, t.createdAt, t.orderId),
    index('orders_created').on(t.createdAt, t.orderId),
  ],
);

/**
 * One row per order with what the KPIs (`GET /reports/kpis`, db/kpis.ts) need, narrow enough to
 * aggregate 100,000 orders in well under a second. Written only by triggers in Postgres (migration
 * 0008_order_facts): from `orders` (placed, channel, warehouse, lines), `order_events` (the first
 * time of each milestone, the flags), `shipments` (the promise) and `returns` (units back, why), so
 * no writer of those tables has to know it exists and it can never disagree with them.
 */
export const orderFacts = pgTable(
  'order_facts',
  {
    orderId: text('order_id')
      .primaryKey()
      .references(() => orders.orderId, { onDelete: 'cascade' }),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull(),
    channel: text('channel').notNull(),
    warehouseId: text('warehouse_id'),
    /** The order's lines: skus[i] × quantities[i]. */
    skus: text('skus').array().notNull(),
    quantities: integer('quantities').array().notNull(),
    units: integer('units').notNull(),
    capturedAt: timestamp('captured_at', { withTimezone: true }),
    shippedAt: timestamp('shipped_at', { withTimezone: true }),
    deliveredAt: timestamp('delivered_at', { withTimezone: true }),
    /** order_cancelled | backorder_expired | parcel_lost_refunded */
    cancelType: text('cancel_type'),
    /** Why the customer or support cancelled (the order view's `cancellation.reason`). */
    cancelReason: text('cancel_reason'),
    picked: boolean('picked').notNull().default(false),
    pickRejected: boolean('pick_rejected').notNull().default(false),
    shortPick: boolean('short_pick').notNull().default(false),
    /** A delivery_exception or returned_to_sender event. */
    deliveryException: boolean('delivery_exception').notNull().default(false),
    reships: integer('reships').notNull().default(0),
    /** The first bought label's promise. */
    promisedBy: timestamp('promised_by', { withTimezone: true }),
    /** Units of returns that did not expire: as received, or as asked while open. */
    returnedUnits: integer('returned_units').notNull().default(0),
    wrongItemReturn: boolean('wrong_item_return').notNull().default(false),
    damagedReturn: boolean('damaged_return').notNull().default(false),
  },
  (t) => [
    index('order_facts_created').on(t.createdAt),
    index('order_facts_channel_created').on(t.channel, t.createdAt),
    index('order_facts_warehouse_created').on(t.warehouseId, t.createdAt),
    // The few cancelled orders and orders with returns, for their breakdowns without a full scan.
    index('order_facts_cancelled')
      .on(t.createdAt)
      .where(sql`${t.cancelType} is not null`),
    index('order_facts_returned')
      .on(t.createdAt)
      .where(sql`${t.returnedUnits} > 0`),
  ],
);

/** The order timeline: one row per milestone, numbered by the workflow. */
export const orderEvents = pgTable(
  'order_events',
  {
    orderId: text('order_id').notNull(),
    seq: integer('seq').notNull(),
    type: text('type').notNull(),
    status: text('status').notNull(),
    detail: text('detail'),
    at: timestamp('at', { withTimezone: true }).notNull(),
  },
  (t) => [primaryKey({ columns: [t.orderId, t.seq] })],
);

/**
 * Messages to customers, one per order and kind: an outbox. The workflow's activity records a
 * message (pending); the dispatcher hands it to the notifier and marks it sent.
 */
export const notifications = pgTable(
  'notifications',
  {
    id: bigserial('id', { mode: 'number' }).primaryKey(),
    orderId: text('order_id').notNull(),
    kind: text('kind').notNull(),
    recipient: text('recipient').notNull(),
    subject: text('subject').notNull(),
    body: text('body').notNull(),
    /** When the workflow recorded the message. */
    createdAt: createdAt(),
    /** When the notifier accepted it; null while it waits in the outbox. */
    sentAt: timestamp('sent_at', { withTimezone: true }),
    /** Hand-overs tried, the one in flight included. */
    attempts: integer('attempts').notNull().default(0),
    /** Not tried before this: the backoff after a failure, or the lease of a dispatcher sending it now. */
    nextAttemptAt: timestamp('next_attempt_at', { withTimezone: true }).notNull().defaultNow(),
    /** Why the last hand-over failed; null once sent. */
    lastError: text('last_error'),
  },
  (t) => [
    uniqueIndex('notifications_once').on(t.orderId, t.kind),
    index('notifications_pending')
      .on(t.nextAttemptAt)
      .where(sql`${t.sentAt} is null`),
  ],
);

/**
 * Deliveries the built-in simulators owe this system's API (a warehouse saying a task is done,
 * a carrier's tracking scan), kept durable so a restart never loses a parcel or a task.
 */
export const simulatorDeliveries = pgTable(
  'simulator_deliveries',
  {
    id: bigserial('id', { mode: 'number' }).primaryKey(),
    dedupeKey: text('dedupe_key').notNull(),
    dueAt: timestamp('due_at', { withTimezone: true }).notNull(),
    path: text('path').notNull(),
    body: jsonb('body').notNull(),
    attempts: integer('attempts').notNull().default(0),
    claimedUntil: timestamp('claimed_until', { withTimezone: true }),
    deliveredAt: timestamp('delivered_at', { withTimezone: true }),
    lastError: text('last_error'),
  },
  (t) => [
    uniqueIndex('simulator_deliveries_once').on(t.dedupeKey),
    index('simulator_deliveries_due').on(t.deliveredAt, t.dueAt),
  ],
);

/**
 * The simulated payment gateway's books: one row per effect it performed, under the caller's
 * idempotency key. `parent` is the authorization a capture or void acted on, or the capture a
 * refund paid back; an authorization's state (captured, voided) is read from its children.
 */
export const simulatorPayments = pgTable(
  'simulator_payments',
  {
    idempotencyKey: text('idempotency_key').primaryKey(),
    /** authorize | capture | void | refund */
    kind: text('kind').notNull(),
    reference: text('reference').notNull(),
    parent: text('parent'),
    amount: integer('amount').notNull(),
    currency: text('currency').notNull(),
    at: createdAt(),
  },
  (t) => [uniqueIndex('simulator_payments_reference').on(t.reference), index('simulator_payments_parent').on(t.parent)],
);

/**
 * The simulated carriers' labels, by carrier and the idempotency key they were sold under: each
 * carrier keeps its own keys, so one key asked of two carriers buys two labels.
 */
export const simulatorLabels = pgTable(
  'simulator_labels',
  {
    carrier: text('carrier').notNull(),
    idempotencyKey: text('idempotency_key').notNull(),
    service: text('service').notNull(),
    trackingNumber: text('tracking_number').notNull(),
    cost: integer('cost').notNull(),
    currency: text('currency').notNull(),
    /** sold | voided | handed_over */
    status: text('status').notNull(),
    at: createdAt(),
    updatedAt: timestamp('updated_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [
    primaryKey({ columns: [t.carrier, t.idempotencyKey] }),
    uniqueIndex('simulator_labels_tracking_number').on(t.trackingNumber),
    index('simulator_labels_idempotency_key').on(t.idempotencyKey),
  ],
);

/**
 * Requests the simulated parties answered once per idempotency key (a trace, a hand-over, a void,
 * a withdrawn task): the same key again gets the first answer and changes nothing.
 */
export const simulatorRequests = pgTable(
  'simulator_requests',
  {
    party: text('party').notNull(),
    idempotencyKey: text('idempotency_key').notNull(),
    answer: jsonb('answer').notNull(),
    at: createdAt(),
  },
  (t) => [primaryKey({ columns: [t.party, t.idempotencyKey] })],
);

/**
 * Return authorizations (RMAs), written by the workflow through an idempotent activity: what the
 * customer sends back, why, what the warehouse found, and what was refunded. Reports read it.
 */
export const returns = pgTable(
  'returns',
  {
    returnId: text('return_id').primaryKey(),
    orderId: text('order_id').notNull(),
    /** authorized | received | refunded | expired */
    status: text('status').notNull(),
    reason: text('reason').notNull(),
    comment: text('comment'),
    items: jsonb('items').$type<{ sku: string; quantity: number }[]>().notNull(),
    units: jsonb('units').$type<{ sku: string; quantity: number; condition: string }[]>().notNull(),
    labelCarrier: text('label_carrier'),
    labelTrackingNumber: text('label_tracking_number'),
    expiresAt: timestamp('expires_at', { withTimezone: true }).notNull(),
    /** Minor units refunded for this return. */
    refunded: integer('refunded').notNull().default(0),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull(),
    updatedAt: timestamp('updated_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [index('returns_order').on(t.orderId), index('returns_created').on(t.createdAt)],
);

/**
 * The API's answers to requests that carried an `Idempotency-Key`, kept 24 hours so a replay gets
 * the first answer. `status` is null while the first request still runs.
 */
export const apiIdempotencyKeys = pgTable(
  'api_idempotency_keys',
  {
    /** Caller, method and route: one caller's key never answers another's request. */
    scope: text('scope').notNull(),
    key: text('key').notNull(),
    requestHash: text('request_hash').notNull(),
    status: integer('status'),
    headers: jsonb('headers'),
    body: text('body'),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [primaryKey({ columns: [t.scope, t.key] }), index('api_idempotency_keys_created_at').on(t.createdAt)],
);

/**
 * A wave of a warehouse (domain/waves.ts): written by its workflows at every status change, with
 * the time of each. `open` while shipments gather; `released`, `picking`, `picked`, `labelled`, `closed`.
 */
export const waves = pgTable(
  'waves',
  {
    id: text('id').primaryKey(),
    warehouseId: text('warehouse_id').notNull(),
    status: text('status').notNull(),
    /** Why it was released: size | max_wait | cutoff | urgent; null while open. */
    reason: text('reason'),
    /** The batch pick list, zones in order, each in bin order (domain/waves.ts PickZone[]). */
    pickList: jsonb('pick_list').$type<PickZone[]>(),
    openedAt: createdAt(),
    releasedAt: timestamp('released_at', { withTimezone: true }),
    pickingAt: timestamp('picking_at', { withTimezone: true }),
    pickedAt: timestamp('picked_at', { withTimezone: true }),
    labelledAt: timestamp('labelled_at', { withTimezone: true }),
    closedAt: timestamp('closed_at', { withTimezone: true }),
    updatedAt: timestamp('updated_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [index('waves_warehouse_status').on(t.warehouseId, t.status)],
);

/**
 * A shipment in a wave: what to pick, the warehouse's answer, and its label (bought in the wave's
 * batch under the key `<shipmentId>:wave-label:<waveId>`, printed at `print_position`).
 */
export const waveShipments = pgTable(
  'wave_shipments',
  {
    waveId: text('wave_id').notNull(),
    shipmentId: text('shipment_id').notNull(),
    orderId: text('order_id').notNull(),
    workflowId: text('workflow_id').notNull(),
    priority: text('priority').notNull(),
    carrier: text('carrier').notNull(),
    service: text('service').notNull(),
    items: jsonb('items').$type<{ sku: string; quantity: number }[]>().notNull(),
    shipTo: jsonb('ship_to').$type<ShippingAddress>().notNull(),
    readyAt: timestamp('ready_at', { withTimezone: true }).notNull(),
    /** pending | picked | short | unanswered */
    pickStatus: text('pick_status').notNull().default('pending'),
    shortages: jsonb('shortages').$type<{ sku: string; quantity: number; reason: string }[]>(),
    printPosition: integer('print_position'),
    trackingNumber: text('tracking_number'),
    labelCost: integer('label_cost'),
    box: text('box'),
    weightGrams: integer('weight_grams'),
    /** sold | voided; null until bought. */
    labelStatus: text('label_status'),
  },
  (t) => [primaryKey({ columns: [t.waveId, t.shipmentId] }), index('wave_shipments_shipment').on(t.shipmentId)],
);
