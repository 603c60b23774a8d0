import { eq } from 'drizzle-orm';
import { inject } from 'vitest';
import { createReadModelActivities } from '../../activities/read-model.js';
import type { ActivityDependencies } from '../../activities/deps.js';
import { createDatabase, type Database } from '../../db/client.js';
import { createDatabaseIfMissing } from '../../db/embedded.js';
import { migrateDatabase } from '../../db/migrate.js';
import { returns, shipments } from '../../db/schema.js';
import { seedDemoData } from '../../db/seed.js';
import { initialOrderView, type OrderView } from '../../domain/order.js';
import type { Channel } from '../../domain/schemas.js';
import type { OrderStatus } from '../../domain/statuses.js';
import { orderRequest, workflowInput } from './orders.js';

/**
 * A database of its own on the run's Postgres (the KPIs count every order, so no other test's
 * orders may be in it), migrated and with the demo catalog.
 */
export async function kpiDatabase(name: string): Promise<Database> {
  const url = new URL(inject('databaseUrl'));
  const database = `${url.pathname.slice(1)}_${name}`;
  await createDatabaseIfMissing(url.toString(), database);
  url.pathname = `/${database}`;
  const db = createDatabase(url.toString(), { max: 5 });
  await migrateDatabase(db);
  await seedDemoData(db);
  return db;
}

const PRICES: Record<string, number> = {
  'MUG-CERAMIC': 1400,
  'BOOK-TEMPORAL': 3600,
  'TSHIRT-ORG-M': 2500,
  'LAMP-DESK': 4500,
  'COFFEE-1KG': 2800,
};

interface FixtureOrder {
  orderId: string;
  placedAt: string;
  channel?: Channel;
  warehouseId?: string;
  items: { sku: string; quantity: number }[];
  /** Timeline after `order_received`: [type, status, at, detail?]. */
  events: [string, OrderStatus, string, string?][];
  cancellation?: { reason: string; free: boolean };
  attention?: string;
  shipments?: { n: number; status: string; promisedBy: string }[];
  returns?: {
    n: number;
    reason: string;
    items: { sku: string; quantity: number }[];
    received?: { condition: 'resalable' | 'damaged' };
    refunded: number;
    expired?: boolean;
    at: string;
  }[];
}

/**
 * Writes an order the way its workflow does: the read-model activity once per milestone, with the
 * timeline so far (and the last write twice, as a retried activity would), then its shipments and
 * returns as their activities write them.
 */
async function writeOrder(db: Database, order: FixtureOrder): Promise<void> {
  const readModel = createReadModelActivities({ db } as ActivityDependencies);
  const request = orderRequest({ orderId: order.orderId, channel: order.channel ?? 'web', items: order.items });
  const input = workflowInput(request, order.placedAt);
  const view: OrderView = initialOrderView(input);
  view.items = order.items.map((item) => ({
    sku: item.sku,
    name: item.sku,
    quantity: item.quantity,
    unitPrice: PRICES[item.sku] ?? 1000,
  }));
  const subtotal = view.items.reduce((sum, item) => sum + item.quantity * (item.unitPrice ?? 0), 0);
  view.totals = { subtotal, shipping: 0, total: subtotal, currency: 'USD' };
  await readModel.recordOrderUpdate({ order: input, view: structuredClone(view) });
  for (const [type, status, at, detail] of order.events) {
    if (type === 'stock_reserved' || type === 'backordered')
      view.shipments = [
        {
          shipmentId: `${view.orderId}-1`,
          warehouseId: order.warehouseId ?? 'wh-east',
          items: order.items.map(({ sku, quantity }) => ({ sku, quantity })),
          status: 'reserved',
          carrier: null,
          service: null,
          trackingNumber: null,
          promisedBy: null,
          waveId: null,
          priority: null,
          timeline: [],
        },
      ];
    if (type === 'order_cancelled' && order.cancellation)
      view.cancellation = { ...order.cancellation, requestedBy: 'support-desk' };
    if (type === 'needs_attention') view.attention = order.attention ?? 'stuck';
    view.status = status;
    view.timeline.push({ seq: view.timeline.length, at, type, status, ...(detail ? { detail } : {}) });
    await readModel.recordOrderUpdate({ order: input, view: structuredClone(view) });
  }
  await readModel.recordOrderUpdate({ order: input, view: structuredClone(view) });
  for (const shipment of order.shipments ?? []) {
    await db.insert(shipments).values({
      id: `${order.orderId}-${shipment.n}`,
      orderId: order.orderId,
      carrier: 'parcelpost',
      service: 'ground',
      trackingNumber: `T-${order.orderId}-${shipment.n}`,
      status: shipment.status,
      box: 'S',
      weightGrams: 500,
      labelCost: 650,
      currency: 'USD',
      promisedBy: new Date(shipment.promisedBy),
    });
  }
  for (const ret of order.returns ?? []) {
    const returnId = `${order.orderId}-r${ret.n}`;
    await db.insert(returns).values({
      returnId,
      orderId: order.orderId,
      status: 'authorized',
      reason: ret.reason,
      items: ret.items,
      units: [],
      expiresAt: new Date(Date.parse(ret.at) + 14 * 86_400_000),
      createdAt: new Date(ret.at),
    });
    // What the return activities do next: the parcel arrives (or never does), the refund is paid.
    if (ret.expired) {
      await db.update(returns).set({ status: 'expired' }).where(eqReturn(returnId));
    } else if (ret.received) {
      const condition = ret.received.condition;
      await db
        .update(returns)
        .set({
          status: ret.refunded > 0 ? 'refunded' : 'received',
          units: ret.items.map((item) => ({ ...item, condition })),
          refunded: ret.refunded,
        })
        .where(eqReturn(returnId));
    }
  }
}

const eqReturn = (returnId: string) => eq(returns.returnId, returnId);

const day = (d: string, time: string) => `2026-03-${d}T${time}Z`;

/**
 * Orders placed 1–7 March 2026 (UTC) whose KPIs are worked out by hand in test/kpis.test.ts, and
 * one placed a second before the range.
 */
export const KPI_FIXTURE: FixtureOrder[] = [
  {
    // Perfect: shipped 6 h after placing, delivered in 48 h, before the promise.
    orderId: 'kpi-a',
    placedAt: day('01', '10:00:00.000'),
    items: [{ sku: 'MUG-CERAMIC', quantity: 2 }],
    events: [
      ['stock_reserved', 'received', day('01', '10:00:05.000')],
      ['order_confirmed', 'confirmed', day('01', '10:00:10.000')],
      ['payment_captured', 'processing', day('01', '10:30:00.000')],
      ['picked', 'processing', day('01', '12:00:00.000')],
      ['shipped', 'shipped', day('01', '16:00:00.000')],
      ['delivered', 'delivered', day('03', '10:00:00.000')],
      ['order_completed', 'completed', '2026-04-02T10:00:00.000Z'],
    ],
    shipments: [{ n: 1, status: 'delivered', promisedBy: day('04', '23:59:59.000') }],
    // An expired return counts for nothing.
    returns: [
      {
        n: 1,
        reason: 'other',
        items: [{ sku: 'MUG-CERAMIC', quantity: 1 }],
        refunded: 0,
        expired: true,
        at: day('05', '09:00:00.000'),
      },
    ],
  },
  {
    // Placed 23:30 UTC on the 1st; shipped 12 h later, delivered late (84 h); a wrong item came back.
    orderId: 'kpi-b',
    placedAt: day('01', '23:30:00.000'),
    items: [
      { sku: 'BOOK-TEMPORAL', quantity: 1 },
      { sku: 'MUG-CERAMIC', quantity: 1 },
    ],
    events: [
      ['stock_reserved', 'received', day('01', '23:30:05.000')],
      ['order_confirmed', 'confirmed', day('01', '23:30:10.000')],
      ['payment_captured', 'processing', day('02', '00:00:00.000')],
      ['picked', 'processing', day('02', '08:00:00.000')],
      ['shipped', 'shipped', day('02', '11:30:00.000')],
      ['delivered', 'delivered', day('05', '11:30:00.000')],
      ['return_authorized', 'delivered', day('06', '09:00:00.000')],
      ['return_refunded', 'delivered', day('09', '09:00:00.000')],
      ['order_completed', 'completed', '2026-04-04T11:30:00.000Z'],
    ],
    shipments: [{ n: 1, status: 'delivered', promisedBy: day('03', '23:59:59.000') }],
    returns: [
      {
        n: 1,
        reason: 'wrong_item',
        items: [{ sku: 'BOOK-TEMPORAL', quantity: 1 }],
        received: { condition: 'resalable' },
        refunded: 3600,
        at: day('06', '09:00:00.000'),
      },
    ],
  },
  {
    // Placed at midnight UTC on the 2nd (19:00 on the 1st in New York); marketplace, from wh-west;
    // a rejected pick and a short pick; delivered on time (48 h); one damaged unit came back.
    orderId: 'kpi-c',
    placedAt: day('02', '00:00:00.000'),
    channel: 'marketplace',
    warehouseId: 'wh-west',
    items: [{ sku: 'TSHIRT-ORG-M', quantity: 3 }],
    events: [
      ['stock_reserved', 'received', day('02', '00:00:05.000')],
      ['order_confirmed', 'confirmed', day('02', '00:00:10.000')],
      ['payment_captured', 'processing', day('02', '00:30:00.000')],
      ['pick_rejected', 'processing', day('02', '04:00:00.000')],
      ['short_pick', 'processing', day('02', '05:00:00.000')],
      ['picked', 'processing', day('02', '09:00:00.000')],
      ['shipped', 'shipped', day('02', '18:00:00.000')],
      ['delivered', 'delivered', day('04', '00:00:00.000')],
      ['return_authorized', 'delivered', day('05', '09:00:00.000')],
      ['order_completed', 'completed', '2026-04-03T00:00:00.000Z'],
    ],
    shipments: [{ n: 1, status: 'delivered', promisedBy: day('06', '23:59:59.000') }],
    returns: [
      {
        n: 1,
        reason: 'damaged',
        items: [{ sku: 'TSHIRT-ORG-M', quantity: 1 }],
        received: { condition: 'damaged' },
        refunded: 2500,
        at: day('05', '09:00:00.000'),
      },
    ],
  },
  {
    // Cancelled inside the free buffer (before capture).
    orderId: 'kpi-d',
    placedAt: day('02', '12:00:00.000'),
    items: [{ sku: 'COFFEE-1KG', quantity: 1 }],
    cancellation: { reason: 'Customer changed their mind ', free: true },
    events: [
      ['stock_reserved', 'received', day('02', '12:00:05.000')],
      ['order_confirmed', 'confirmed', day('02', '12:00:10.000')],
      ['order_cancelled', 'cancelled', day('02', '12:10:00.000')],
    ],
  },
  {
    // Cancelled by support after capture, before it shipped.
    orderId: 'kpi-e',
    placedAt: day('03', '09:00:00.000'),
    items: [{ sku: 'COFFEE-1KG', quantity: 2 }],
    cancellation: { reason: 'Found it cheaper', free: false },
    events: [
      ['stock_reserved', 'received', day('03', '09:00:05.000')],
      ['order_confirmed', 'confirmed', day('03', '09:00:10.000')],
      ['payment_captured', 'processing', day('03', '09:30:00.000')],
      ['order_cancelled', 'cancelled', day('03', '11:00:00.000')],
    ],
  },
  {
    // Shipped 10 h after placing, lost, reshipped, delivered after the first promise (144 h).
    orderId: 'kpi-f',
    placedAt: day('03', '10:00:00.000'),
    items: [{ sku: 'LAMP-DESK', quantity: 1 }],
    events: [
      ['stock_reserved', 'received', day('03', '10:00:05.000')],
      ['order_confirmed', 'confirmed', day('03', '10:00:10.000')],
      ['payment_captured', 'processing', day('03', '10:30:00.000')],
      ['picked', 'processing', day('03', '15:00:00.000')],
      ['shipped', 'shipped', day('03', '20:00:00.000')],
      ['delivery_exception', 'delivery_exception', day('06', '00:00:00.000')],
      ['parcel_lost', 'delivery_exception', day('07', '00:00:00.000')],
      ['reship_started', 'processing', day('07', '00:00:01.000')],
      ['picked', 'processing', day('07', '06:00:00.000')],
      ['shipped', 'shipped', day('07', '12:00:00.000')],
      ['delivered', 'delivered', day('09', '10:00:00.000')],
    ],
    shipments: [
      { n: 1, status: 'lost', promisedBy: day('05', '23:59:59.000') },
      { n: 2, status: 'delivered', promisedBy: day('10', '23:59:59.000') },
    ],
  },
  {
    // Declined: placed, never shipped, not a cancellation.
    orderId: 'kpi-g',
    placedAt: day('04', '08:00:00.000'),
    items: [{ sku: 'MUG-CERAMIC', quantity: 1 }],
    events: [
      ['stock_reserved', 'received', day('04', '08:00:05.000')],
      ['payment_declined', 'payment_failed', day('04', '08:00:10.000')],
    ],
  },
  {
    // Backordered, no stock came: cancelled as an expired backorder.
    orderId: 'kpi-i',
    placedAt: day('05', '15:00:00.000'),
    items: [{ sku: 'LAMP-DESK', quantity: 4 }],
    events: [
      ['backordered', 'backordered', day('05', '15:00:05.000')],
      ['backorder_expired', 'cancelled', day('12', '15:00:05.000')],
    ],
  },
  {
    // Phone order still being picked.
    orderId: 'kpi-k',
    placedAt: day('06', '12:00:00.000'),
    channel: 'phone',
    items: [{ sku: 'MUG-CERAMIC', quantity: 1 }],
    events: [
      ['stock_reserved', 'received', day('06', '12:00:05.000')],
      ['order_confirmed', 'confirmed', day('06', '12:00:10.000')],
      ['payment_captured', 'processing', day('06', '12:30:00.000')],
    ],
  },
  {
    // Parked: the warehouse never finished the pick.
    orderId: 'kpi-l',
    placedAt: day('06', '13:00:00.000'),
    items: [{ sku: 'BOOK-TEMPORAL', quantity: 1 }],
    attention: 'the warehouse did not complete the pick after 3 attempts',
    events: [
      ['stock_reserved', 'received', day('06', '13:00:05.000')],
      ['order_confirmed', 'confirmed', day('06', '13:00:10.000')],
      ['payment_captured', 'processing', day('06', '13:30:00.000')],
      ['pick_late', 'processing', day('06', '17:30:00.000')],
      ['needs_attention', 'needs_attention', day('06', '20:00:00.000')],
    ],
  },
  {
    // One second before the range: counted nowhere.
    orderId: 'kpi-j',
    placedAt: '2026-02-28T23:59:59.000Z',
    items: [{ sku: 'MUG-CERAMIC', quantity: 5 }],
    events: [
      ['stock_reserved', 'received', '2026-02-28T23:59:59.500Z'],
      ['payment_captured', 'processing', day('01', '00:30:00.000')],
      ['picked', 'processing', day('01', '02:00:00.000')],
      ['shipped', 'shipped', day('01', '04:00:00.000')],
      ['delivered', 'delivered', day('02', '04:00:00.000')],
      ['order_completed', 'completed', '2026-04-01T04:00:00.000Z'],
    ],
    shipments: [{ n: 1, status: 'delivered', promisedBy: day('03', '23:59:59.000') }],
  },
];

export async function writeKpiFixture(db: Database): Promise<void> {
  for (const order of KPI_FIXTURE) await writeOrder(db, order);
}
