import { z } from 'zod';
import type { ReturnView } from '../domain/order.js';
import type { listOrders, OrderResource } from './orders/read-model.js';
import { channels, roles, shippingSpeeds } from '../domain/schemas.js';
import { customerTiers, orderPriorities } from '../domain/priority.js';
import { ORDER_STATUSES, type ShipmentProgress, type ShipmentStatus } from '../domain/statuses.js';
import { shipmentPriorities, waveStatuses } from '../domain/waves.js';

/**
 * What the API answers with, as zod schemas: the OpenAPI document's response schemas
 * (api/operations/openapi.ts) and the contract tests' validators. Each mirrors a TypeScript type
 * the routes build; the `Same<…>` checks at the bottom fail the typecheck when one drifts from the other.
 */

const timestamp = z.iso.datetime({ offset: true }).meta({ example: '2025-01-15T10:30:00.000Z' });
const minorUnits = z.number().int().meta({ description: 'Minor units (cents).' });

export const Problem = z
  .object({
    type: z.string().meta({ example: 'about:blank' }),
    title: z.string(),
    status: z.number().int().min(400).max(599),
    detail: z.string().optional(),
    errors: z
      .array(
        z.object({
          field: z
            .string()
            .meta({ description: 'Path of the failing field, e.g. `items[1].quantity`; "" for the body itself.' }),
          message: z.string(),
        }),
      )
      .optional(),
  })
  .meta({
    id: 'Problem',
    description: 'RFC 9457 problem details. `errors` names each failing field.',
    example: {
      type: 'about:blank',
      title: 'Invalid order',
      status: 400,
      detail: 'One or more fields are invalid.',
      errors: [{ field: 'items[1].quantity', message: 'Too small: expected number to be >=1' }],
    },
  });

export const paymentStatuses = ['pending', 'authorized', 'captured', 'declined', 'voided', 'refunded'] as const;
export const shipmentStatuses = [
  'label_created',
  'shipped',
  'in_transit',
  'out_for_delivery',
  'delivered',
  'lost',
  'returned_to_sender',
  'voided',
] as const satisfies readonly ShipmentStatus[];
/** Where one shipment of an order is (domain/statuses.ts `ShipmentProgress`). */
export const shipmentProgressStatuses = [
  'reserved',
  'backordered',
  'picked',
  'packed',
  'needs_attention',
  'delivery_exception',
  'cancelled',
  ...shipmentStatuses,
] as const satisfies readonly ShipmentProgress[];
export const returnStatuses = ['authorized', 'received', 'refunded', 'expired'] as const;

const Address = z.object({
  name: z.string(),
  line1: z.string(),
  line2: z.string().optional(),
  city: z.string(),
  region: z.string(),
  postalCode: z.string(),
  country: z.string(),
});

export const ReturnViewSchema = z
  .object({
    returnId: z.string(),
    status: z.enum(returnStatuses),
    reason: z.string().meta({ description: 'Why the customer sends it back (see CreateReturnRequest).' }),
    comment: z.string().nullable(),
    items: z.array(z.object({ sku: z.string(), quantity: z.number().int() })),
    returnLabel: z.object({ carrier: z.string(), trackingNumber: z.string() }).nullable(),
    expiresAt: timestamp.meta({
      description: 'The parcel must reach the warehouse by then, or the authorization expires.',
    }),
    units: z.array(
      z.object({ sku: z.string(), quantity: z.number().int(), condition: z.enum(['resalable', 'damaged']) }),
    ),
    refunded: minorUnits,
    createdAt: timestamp,
  })
  .meta({ id: 'ReturnView', description: 'A return authorization (RMA) and what became of it.' });

const EXAMPLE_ORDER: OrderResource = {
  orderId: 'demo-1001',
  status: 'confirmed',
  customer: { id: 'cust-1', email: 'ada@example.com', name: 'Ada Lovelace' },
  channel: 'web',
  priority: 'high',
  items: [{ sku: 'MUG-CERAMIC', name: 'Ceramic mug', quantity: 2, unitPrice: 1400 }],
  totals: { subtotal: 2800, shipping: 899, total: 3699, currency: 'USD' },
  payment: { status: 'authorized', authorized: 3699, captured: 0, refunded: 0 },
  shippingSpeed: 'expedited',
  shippingAddress: {
    name: 'Ada Lovelace',
    line1: '1 Main St',
    city: 'Seattle',
    region: 'WA',
    postalCode: '98101',
    country: 'US',
  },
  shipments: [
    {
      shipmentId: 'demo-1001-1',
      warehouseId: 'wh-west',
      items: [{ sku: 'MUG-CERAMIC', quantity: 2 }],
      status: 'reserved',
      carrier: null,
      service: null,
      trackingNumber: null,
      promisedBy: null,
      waveId: null,
      priority: null,
      timeline: [],
    },
  ],
  receivedAt: '2025-01-15T10:30:00.000Z',
  cancellableUntil: '2025-01-15T11:00:00.000Z',
  returnableUntil: null,
  attention: null,
  cancellation: null,
  deliveryAttempts: 0,
  returns: [],
  timeline: [
    { seq: 0, at: '2025-01-15T10:30:00.000Z', type: 'order_received', status: 'received' },
    { seq: 1, at: '2025-01-15T10:30:01.000Z', type: 'stock_reserved', status: 'received', detail: 'wh-west' },
    { seq: 2, at: '2025-01-15T10:30:02.000Z', type: 'order_confirmed', status: 'confirmed' },
  ],
  notifications: [{ kind: 'confirmation', subject: 'Order demo-1001 confirmed', sentAt: '2025-01-15T10:30:02.000Z' }],
  pendingNotifications: [],
};

export const OrderViewSchema = z
  .object({
    orderId: z.string(),
    status: z.enum(ORDER_STATUSES),
    customer: z.object({
      id: z.string(),
      email: z.string(),
      name: z.string(),
      tier: z.enum(customerTiers).optional(),
    }),
    channel: z.enum(channels),
    priority: z.enum(orderPriorities).meta({
      description:
        'How soon its work is served: `urgent` (overnight), `high` (expedited, a `vip` customer or a total at or above `HIGH_VALUE_ORDER`) or `normal`. Temporal matches its tasks in this order under a backlog; also the `OrderPriority` search attribute.',
    }),
    items: z.array(
      z.object({
        sku: z.string(),
        name: z.string().nullable(),
        quantity: z.number().int(),
        unitPrice: minorUnits.nullable(),
      }),
    ),
    totals: z
      .object({ subtotal: minorUnits, shipping: minorUnits, total: minorUnits, currency: z.string() })
      .nullable(),
    payment: z.object({
      status: z.enum(paymentStatuses),
      authorized: minorUnits,
      captured: minorUnits,
      refunded: minorUnits,
    }),
    shippingSpeed: z.enum(shippingSpeeds),
    shippingAddress: Address,
    shipments: z
      .array(
        z.object({
          shipmentId: z.string().meta({
            description:
              "`<orderId>-<n>`; its workflow is `shipment-<orderId>-<n>`, or the order's own when it is the only one.",
          }),
          warehouseId: z.string(),
          items: z.array(z.object({ sku: z.string(), quantity: z.number().int() })),
          status: z.enum(shipmentProgressStatuses),
          carrier: z.string().nullable(),
          service: z.string().nullable(),
          trackingNumber: z.string().nullable(),
          promisedBy: timestamp.nullable(),
          waveId: z
            .string()
            .nullable()
            .meta({ description: 'The warehouse wave that picks it (null until waves exist).' }),
          priority: z.string().nullable(),
          timeline: z.array(z.object({ at: timestamp, type: z.string(), detail: z.string().optional() })),
        }),
      )
      .meta({
        description:
          'The parcels the order ships as: one per warehouse the allocation planner chose (and one for a backordered remainder). The order is `shipped`/`delivered` when every live one is.',
      }),
    receivedAt: timestamp,
    cancellableUntil: timestamp.meta({ description: 'End of the free-cancel buffer.' }),
    returnableUntil: timestamp.nullable(),
    attention: z.string().nullable().meta({ description: 'Why the order needs a human, while it does.' }),
    cancellation: z
      .object({
        reason: z.string(),
        requestedBy: z.string().meta({ description: 'The authenticated caller who cancelled (the API key’s name).' }),
        free: z.boolean(),
      })
      .nullable(),
    deliveryAttempts: z.number().int(),
    returns: z.array(ReturnViewSchema),
    timeline: z.array(
      z.object({
        seq: z.number().int(),
        at: timestamp,
        type: z.string(),
        status: z.enum(ORDER_STATUSES),
        detail: z.string().optional(),
      }),
    ),
    notifications: z
      .array(
        z.object({
          kind: z
            .string()
            .meta({ description: 'confirmation, shipped:<shipmentId>, delivered, refund_issued:<returnId>, …' }),
          subject: z.string(),
          sentAt: timestamp,
        }),
      )
      .meta({
        description: 'What the customer was told, once per kind (and subject): the messages the notifier accepted.',
      }),
    pendingNotifications: z
      .array(
        z.object({
          kind: z.string(),
          subject: z.string(),
          recordedAt: timestamp,
          attempts: z.number().int().meta({ description: 'Hand-overs to the notifier tried so far.' }),
          lastError: z.string().nullable().meta({ description: 'Why the last hand-over failed.' }),
          nextAttemptAt: timestamp.meta({ description: 'Not tried again before this (backoff after a failure).' }),
        }),
      )
      .meta({
        description:
          'Messages recorded for the customer that the notifier has not accepted yet; retried with backoff, never holding up the order.',
      }),
  })
  .meta({
    id: 'OrderView',
    description: 'An order as the read model holds it, with its timeline and the messages its customer was sent.',
    example: EXAMPLE_ORDER,
  });

export const OrderList = z
  .object({
    orders: z.array(
      z.object({
        orderId: z.string(),
        status: z.enum(ORDER_STATUSES),
        customerId: z.string(),
        channel: z.enum(channels),
        total: minorUnits.nullable(),
        currency: z.string().nullable(),
        createdAt: timestamp,
        updatedAt: timestamp,
      }),
    ),
    nextCursor: z
      .string()
      .nullable()
      .meta({ description: 'Pass as `cursor` for the next page; null on the last page.' }),
  })
  .meta({
    id: 'OrderList',
    example: {
      orders: [
        {
          orderId: 'demo-1001',
          status: 'completed',
          customerId: 'cust-1',
          channel: 'web',
          total: 3699,
          currency: 'USD',
          createdAt: '2025-01-15T10:30:00.000Z',
          updatedAt: '2025-01-17T09:00:00.000Z',
        },
      ],
      nextCursor: null,
    },
  });

const StockLevel = z.object({ onHand: z.number().int(), reserved: z.number().int(), available: z.number().int() });

export const ProductList = z
  .object({
    products: z.array(
      z.object({
        sku: z.string(),
        name: z.string(),
        price: minorUnits,
        currency: z.string(),
        weightGrams: z.number().int(),
        lengthMm: z.number().int(),
        widthMm: z.number().int(),
        heightMm: z.number().int(),
        zone: z.string().meta({ description: 'The floor zone pickers find it in (wave pick lists go zone by zone).' }),
        bin: z.string().meta({ description: 'Its bin, `<zone>-<aisle>-<shelf>`, in walking order.' }),
        stock: z.array(StockLevel.extend({ warehouseId: z.string() })),
      }),
    ),
  })
  .meta({
    id: 'ProductList',
    example: {
      products: [
        {
          sku: 'MUG-CERAMIC',
          name: 'Ceramic mug',
          price: 1400,
          currency: 'USD',
          weightGrams: 350,
          zone: 'B',
          bin: 'B-01-01',
          lengthMm: 120,
          widthMm: 90,
          heightMm: 100,
          stock: [{ warehouseId: 'wh-east', onHand: 61, reserved: 2, available: 59 }],
        },
      ],
    },
  });

export const InventoryList = z
  .object({ inventory: z.array(StockLevel.extend({ warehouseId: z.string(), sku: z.string() })) })
  .meta({
    id: 'InventoryList',
    example: { inventory: [{ warehouseId: 'wh-east', sku: 'MUG-CERAMIC', onHand: 61, reserved: 2, available: 59 }] },
  });

export const AdjustmentResult = StockLevel.extend({
  warehouseId: z.string(),
  sku: z.string(),
  movementKey: z.string(),
  applied: z.boolean().meta({ description: 'false when this Idempotency-Key was already applied: nothing changed.' }),
  wokeOrders: z.array(z.string()).meta({ description: 'Backordered orders told that stock arrived.' }),
}).meta({
  id: 'AdjustmentResult',
  example: {
    warehouseId: 'wh-east',
    sku: 'MUG-CERAMIC',
    onHand: 71,
    reserved: 2,
    available: 69,
    movementKey: 'adjustment:restock-2025-01-15',
    applied: true,
    wokeOrders: [],
  },
});

const waveShipment = z.object({
  shipmentId: z.string(),
  orderId: z.string(),
  priority: z.enum(shipmentPriorities),
  carrier: z.string(),
  service: z.string(),
  items: z.array(z.object({ sku: z.string(), quantity: z.number().int() })),
  readyAt: timestamp,
  pickStatus: z.enum(['pending', 'picked', 'short', 'unanswered']),
  shortages: z.array(z.object({ sku: z.string(), quantity: z.number().int(), reason: z.string() })).nullable(),
  label: z
    .object({
      printPosition: z.number().int(),
      trackingNumber: z.string(),
      cost: minorUnits,
      box: z.string(),
      weightGrams: z.number().int(),
      status: z.enum(['sold', 'voided']),
    })
    .nullable()
    .meta({ description: 'Bought in the wave’s batch; `printPosition` is its page of `labels.pdf`.' }),
});

const waveSummary = {
  waveId: z.string().meta({ example: 'wh-east-w12' }),
  warehouseId: z.string(),
  status: z.enum(waveStatuses),
  reason: z.enum(['size', 'max_wait', 'cutoff', 'urgent']).nullable().meta({
    description:
      'Why it went out: enough shipments, the oldest waited `WAVE_MAX_WAIT`, a carrier cut-off, urgent ones alone; null while open.',
  }),
  shipmentCount: z.number().int(),
  timestamps: z.object({
    opened: timestamp,
    released: timestamp.nullable(),
    picking: timestamp.nullable(),
    picked: timestamp.nullable(),
    labelled: timestamp.nullable(),
    closed: timestamp.nullable(),
  }),
};

export const WaveList = z
  .object({ waves: z.array(z.object(waveSummary)) })
  .meta({ id: 'WaveList', description: 'Waves, newest first (at most 100).' });

export const WaveViewSchema = z
  .object({
    ...waveSummary,
    shipments: z.array(waveShipment).meta({ description: 'In pick priority.' }),
    pickList: z
      .array(
        z.object({
          zone: z.string(),
          lines: z.array(
            z.object({ bin: z.string(), sku: z.string(), quantity: z.number().int(), shipmentId: z.string() }),
          ),
        }),
      )
      .nullable()
      .meta({
        description:
          'The batch pick: zones in order, each in bin order, every line marked with its shipment; null until picking.',
      }),
  })
  .meta({ id: 'Wave' });

export const Accepted = z.object({ accepted: z.literal(true) }).meta({ id: 'Accepted', example: { accepted: true } });

export const Health = z
  .object({
    status: z.enum(['ok', 'unavailable']),
    checks: z.object({ postgres: z.enum(['ok', 'unavailable']), temporal: z.enum(['ok', 'unavailable']) }),
  })
  .meta({ id: 'Health', example: { status: 'ok', checks: { postgres: 'ok', temporal: 'ok' } } });

export const ReturnsReport = z
  .object({
    from: timestamp.nullable(),
    to: timestamp.nullable(),
    byReason: z.array(
      z.object({ reason: z.string(), returns: z.number().int(), units: z.number().int(), refunded: minorUnits }),
    ),
    bySku: z.array(z.object({ sku: z.string(), units: z.number().int(), refunded: minorUnits })),
  })
  .meta({
    id: 'ReturnsReport',
    example: {
      from: '2025-01-01T00:00:00.000Z',
      to: '2025-02-01T00:00:00.000Z',
      byReason: [{ reason: 'damaged', returns: 3, units: 4, refunded: 9600 }],
      bySku: [{ sku: 'MUG-CERAMIC', units: 4, refunded: 9600 }],
    },
  });

/** The OpenAPI document itself: any JSON object that says which OpenAPI version it is. */
export const OpenApiDocument = z.object({
  openapi: z.string(),
  info: z.object({ title: z.string(), version: z.string() }),
  paths: z.record(z.string(), z.unknown()),
});

export const RoleSchema = z.enum(roles);

// Compile-time contract checks: each response schema accepts exactly what the code builds.
type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
const _orderView: Same<z.infer<typeof OrderViewSchema>, OrderResource> = true;
const _returnView: Same<z.infer<typeof ReturnViewSchema>, ReturnView> = true;
const _shipmentStatus: Same<(typeof shipmentStatuses)[number], ShipmentStatus> = true;
// The list's status and channel come from text columns: only the fields are checked here.
type Row<T extends { orders: unknown[] }> = keyof T['orders'][number];
const _orderList: Same<Row<z.infer<typeof OrderList>>, Row<Awaited<ReturnType<typeof listOrders>>>> = true;
void [_orderView, _returnView, _shipmentStatus, _orderList];
