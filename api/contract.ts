import { z } from 'zod';
import {
  CancelOrderRequest,
  CarrierEvent,
  CreateOrderRequest,
  CreateReturnRequest,
  freeText,
  InventoryAdjustment,
  ListOrdersQuery,
  ReturnReceipt,
  ReturnsReportQuery,
  type Role,
  WarehouseEvent,
} from '../domain/schemas.js';
import type { CallerFailureType } from '../domain/failures.js';
import { KpiReport, KpisQuery } from '../domain/kpis.js';
import { CodecRequest } from './operations/codec.js';
import { ORDER_STATUSES } from '../domain/statuses.js';
import {
  Accepted,
  AdjustmentResult,
  Health,
  InventoryList,
  OpenApiDocument,
  OrderList,
  OrderViewSchema,
  ProductList,
  ReturnsReport,
  ReturnViewSchema,
  WaveList,
  WaveViewSchema,
} from './responses.js';
import { waveStatuses } from '../domain/waves.js';

/**
 * The API's contract: every operation with who may call it, what it takes and what it answers.
 * The authentication middleware (api/http/auth.ts) enforces `access` from this table, the OpenAPI
 * document (api/operations/openapi.ts) is generated from it, and the contract tests hold the
 * running API to it. A route the table lacks answers only admins (and the completeness test fails).
 */

/** Who may call an operation. */
export type Access =
  | { kind: 'public' }
  | { kind: 'apiKey'; roles: readonly Role[] }
  /** Carrier webhooks: HMAC-SHA256 over the timestamp and the raw body (platform/credentials.ts). */
  | { kind: 'carrierSignature' };

export interface ResponseSpec {
  description: string;
  /** JSON body schema; absent for a problem (it uses Problem) or a non-JSON body. */
  schema?: z.ZodType;
  /** For non-JSON bodies (the docs page). */
  contentType?: string;
  example?: unknown;
  /** Extra response headers (X-Request-Id is on every response). */
  headers?: Record<string, { description: string; required: boolean }>;
  /** OpenAPI links: what a client (or schemathesis' stateful phase) can call next with this answer. */
  links?: Record<string, { operationId: string; parameters: Record<string, string> }>;
}

export interface Operation {
  method: 'get' | 'post';
  /** OpenAPI form: `/orders/{orderId}`. */
  path: string;
  operationId: string;
  summary: string;
  description: string;
  tag: string;
  access: Access;
  request?: {
    params?: z.ZodObject;
    query?: z.ZodObject;
    body?: z.ZodType;
    bodyExample?: unknown;
  };
  /** Accepts an `Idempotency-Key` header: a replay with the same key answers the first response. */
  idempotencyKey?: 'replay' | 'inventory';
  /** Calls Temporal, so it can answer 503 with Retry-After when Temporal does not answer in time. */
  temporal?: boolean;
  /**
   * The business failures (domain/failures.ts) it can answer with, beyond those its flags imply
   * (`operationFailures` adds invalid input, credentials, bodies, Idempotency-Key reuse, Temporal
   * unavailable and the internal error). Each is an example in its status's response.
   */
  failures?: readonly CallerFailureType[];
  /** Success and business outcomes: a problem status here only describes it (its examples come from the failures). */
  responses: Record<number, ResponseSpec>;
}

const SERVICE_AND_UP: readonly Role[] = ['service', 'support', 'admin'];
const SUPPORT: readonly Role[] = ['support', 'admin'];
const WAREHOUSE: readonly Role[] = ['warehouse', 'admin'];
const EVERY_ROLE: readonly Role[] = ['service', 'support', 'warehouse', 'admin'];
const MONITORING: readonly Role[] = ['monitoring', 'admin'];
/** Operational reads of the floor: the warehouse runs the waves, support answers for them. */
const WAVE_READERS: readonly Role[] = ['warehouse', 'support', 'admin'];

/** Same rules as ids in requests (domain/schemas.ts). */
const orderId = CreateOrderRequest.shape.orderId.meta({
  description: 'The order ID the caller chose when placing it.',
  example: 'demo-1001',
});

export const OrderIdParams = z.strictObject({ orderId });
export const CarrierParams = z.strictObject({
  carrier: freeText(40).min(1).meta({ description: 'The carrier’s name.', example: 'parcelpost' }),
});
export const ReturnIdParams = z.strictObject({ returnId: freeText(100).min(1).meta({ example: 'demo-1001-r1' }) });

export const InventoryQuery = z.strictObject({
  warehouseId: freeText(64).min(1).optional().meta({ example: 'wh-east' }),
  sku: freeText(64).min(1).optional().meta({ example: 'MUG-CERAMIC' }),
});

/** `ListOrdersQuery` with `status` one of the order statuses: what `GET /orders` validates with. */
export const DocumentedListOrdersQuery = ListOrdersQuery.extend({ status: z.enum(ORDER_STATUSES).optional() });

/**
 * Not `freeText`: a header is not text the API keeps or shows, and HTTP settles its characters.
 * Node refuses a header holding other C0 controls or DEL, and strips tabs and spaces at its ends
 * before the API sees it, so a pattern refusing them would call values invalid that reach the
 * server valid (a fuzzer generating from the pattern may send `key<TAB>` and see it accepted).
 */
export const IdempotencyKeyHeader = z.string().min(1, 'must not be empty').max(200, 'at most 200 characters').meta({
  description:
    'Makes a retry safe: the same key again (from the same caller, to the same endpoint, with the same body) answers the first response.',
  example: 'c0a8012e-retry-1',
});

const EXAMPLE_ORDER_REQUEST = {
  orderId: 'demo-1001',
  customer: { id: 'cust-1', email: 'ada@example.com', name: 'Ada Lovelace' },
  channel: 'web',
  items: [
    { sku: 'MUG-CERAMIC', quantity: 2 },
    { sku: 'BOOK-TEMPORAL', quantity: 1 },
  ],
  shippingAddress: {
    name: 'Ada Lovelace',
    line1: '1 Main St',
    city: 'Seattle',
    region: 'WA',
    postalCode: '98101',
    country: 'US',
  },
  shippingSpeed: 'expedited',
  payment: { token: 'tok_visa' },
};

/** Request bodies as named components of the document: the very schemas the routes validate with. */
const bodies = {
  CreateOrderRequest: CreateOrderRequest.meta({ id: 'CreateOrderRequest' }),
  CancelOrderRequest: CancelOrderRequest.meta({ id: 'CancelOrderRequest' }),
  WarehouseEvent: WarehouseEvent.meta({ id: 'WarehouseEvent' }),
  CarrierEvent: CarrierEvent.meta({ id: 'CarrierEvent' }),
  InventoryAdjustment: InventoryAdjustment.meta({ id: 'InventoryAdjustment' }),
  CreateReturnRequest: CreateReturnRequest.meta({ id: 'CreateReturnRequest' }),
  ReturnReceipt: ReturnReceipt.meta({ id: 'ReturnReceipt' }),
};

/** From an order's view to what can be done with it. */
const ORDER_LINKS: ResponseSpec['links'] = Object.fromEntries(
  ['getOrder', 'cancelOrder', 'retryOrder', 'requestReturn'].map((operationId) => [
    operationId,
    { operationId, parameters: { orderId: '$response.body#/orderId' } },
  ]),
);

const orderAnswer = (description: string): ResponseSpec => ({
  description,
  schema: OrderViewSchema,
  links: ORDER_LINKS,
});
const notFound = (what: string): ResponseSpec => ({ description: `${what} not found.` });
const conflict = (description: string): ResponseSpec => ({ description });

export const OPERATIONS: Operation[] = [
  {
    method: 'post',
    path: '/orders',
    operationId: 'placeOrder',
    tag: 'orders',
    summary: 'Place an order',
    description:
      'Validates the order, records it and starts its workflow. Idempotent by `orderId`: the same body again answers 200 with the order; another body under the same `orderId` is a 409. An invalid request starts nothing.',
    access: { kind: 'apiKey', roles: SERVICE_AND_UP },
    request: { body: bodies.CreateOrderRequest, bodyExample: EXAMPLE_ORDER_REQUEST },
    temporal: true,
    failures: ['InvalidAddress', 'OrderIdTaken'],
    responses: {
      202: {
        ...orderAnswer('Order received; its workflow runs.'),
        headers: { Location: { description: 'Where to read the order: `/orders/{orderId}`.', required: true } },
      },
      200: orderAnswer('The same order again (a retry): the order as it is now.'),
      409: conflict('The `orderId` is taken by a different order.'),
      422: {
        description:
          'The shipping address cannot exist by postal data (a US ZIP that does not exist or lies in another state, a city that is not the ZIP’s, a postal code of the wrong format): `errors` names each field with a hint. Nothing was started.',
      },
    },
  },
  {
    method: 'get',
    path: '/orders',
    operationId: 'listOrders',
    tag: 'orders',
    summary: 'List orders',
    description: 'Newest first, keyset-paginated: pass `nextCursor` back as `cursor`. Filters: `status`, `customerId`.',
    access: { kind: 'apiKey', roles: SERVICE_AND_UP },
    request: { query: DocumentedListOrdersQuery },
    responses: { 200: { description: 'A page of orders.', schema: OrderList } },
  },
  {
    method: 'get',
    path: '/orders/{orderId}',
    operationId: 'getOrder',
    tag: 'orders',
    summary: 'Read an order',
    description: 'The order view with its timeline, from the read model.',
    access: { kind: 'apiKey', roles: SERVICE_AND_UP },
    request: { params: OrderIdParams },
    failures: ['NotFound'],
    responses: { 200: orderAnswer('The order.'), 404: notFound('Order') },
  },
  {
    method: 'post',
    path: '/orders/{orderId}/cancel',
    operationId: 'cancelOrder',
    tag: 'orders',
    summary: 'Cancel an order',
    description:
      'A workflow update: answers once the compensations ran. `service` may cancel inside the free-cancel buffer (before capture); `support` and `admin` until the parcel ships. Who cancelled is the authenticated caller. Concurrent cancels of one order are serialized by its workflow and get the same answer.',
    access: { kind: 'apiKey', roles: SERVICE_AND_UP },
    request: {
      params: OrderIdParams,
      body: bodies.CancelOrderRequest,
      bodyExample: { reason: 'customer changed their mind' },
    },
    idempotencyKey: 'replay',
    temporal: true,
    failures: ['NotFound', 'CancellationNotAllowed', 'AlreadyShipped', 'OrderClosed'],
    responses: {
      200: orderAnswer('Cancelled; `cancellation` says by whom and whether it was free.'),
      403: {
        description:
          'No credential with a role for this endpoint, or the free-cancel buffer is over for a `service` caller (`Cancellation not allowed`).',
      },
      404: notFound('Order'),
      409: conflict('The order has shipped or is already closed.'),
    },
  },
  {
    method: 'post',
    path: '/orders/{orderId}/retry',
    operationId: 'retryOrder',
    tag: 'orders',
    summary: 'Retry the parked step of a needs_attention order',
    description: 'Runbook: once the cause is fixed, runs the parked step again.',
    access: { kind: 'apiKey', roles: SUPPORT },
    request: { params: OrderIdParams },
    idempotencyKey: 'replay',
    temporal: true,
    failures: ['NotFound', 'NothingToRetry', 'OrderClosed'],
    responses: {
      200: orderAnswer('The step runs again.'),
      404: notFound('Order'),
      409: conflict('Nothing is parked, or the order is closed.'),
    },
  },
  {
    method: 'get',
    path: '/products',
    operationId: 'listProducts',
    tag: 'catalog',
    summary: 'The catalog',
    description: 'Every product with on-hand, reserved and available stock per warehouse.',
    access: { kind: 'apiKey', roles: EVERY_ROLE },
    responses: { 200: { description: 'The catalog.', schema: ProductList } },
  },
  {
    method: 'post',
    path: '/warehouse/events',
    operationId: 'reportWarehouseEvent',
    tag: 'warehouse',
    summary: 'The warehouse reports a task done',
    description:
      'A pick or pack task finished (`pick_completed`, `pack_completed`); becomes a signal to the order’s workflow. A wave’s batch pick is answered per shipment, with `waveId` and `shipmentId`: the signal goes to the wave, which passes it to the shipment (a late answer to a closed wave is accepted and ignored).',
    access: { kind: 'apiKey', roles: WAREHOUSE },
    request: {
      body: bodies.WarehouseEvent,
      bodyExample: {
        taskId: 'demo-1001-pick',
        orderId: 'demo-1001',
        type: 'pick_completed',
        at: '2025-01-15T11:20:00.000Z',
      },
    },
    idempotencyKey: 'replay',
    temporal: true,
    failures: ['NotFound', 'UnknownWave'],
    responses: { 202: { description: 'Accepted.', schema: Accepted }, 404: notFound('Order or wave') },
  },
  {
    method: 'post',
    path: '/carriers/{carrier}/events',
    operationId: 'reportCarrierEvent',
    tag: 'carriers',
    summary: 'Carrier tracking webhook',
    description:
      'Signed, not keyed: `X-Timestamp: <unix seconds>` and `X-Signature: sha256=<hex HMAC-SHA256 of "<X-Timestamp>.<raw body>">` with the shared `CARRIER_WEBHOOK_SECRET`. A bad signature, or a timestamp more than 5 minutes away, is a 401. Scans are idempotent: a repeat changes nothing.',
    access: { kind: 'carrierSignature' },
    request: {
      params: CarrierParams,
      body: bodies.CarrierEvent,
      bodyExample: {
        trackingNumber: 'PP000123456789012345',
        type: 'in_transit',
        at: '2025-01-16T08:00:00.000Z',
        location: 'origin sort facility',
      },
    },
    idempotencyKey: 'replay',
    temporal: true,
    failures: ['UnknownTrackingNumber'],
    responses: { 202: { description: 'Accepted.', schema: Accepted }, 404: notFound('Tracking number') },
  },
  {
    method: 'post',
    path: '/inventory/adjustments',
    operationId: 'adjustInventory',
    tag: 'inventory',
    summary: 'Correct stock',
    description:
      'A restock, cycle count, damage, find or loss, as one stock movement. `Idempotency-Key`: the same key again answers 200 with `applied: false` and changes nothing; the key reused for another adjustment is a 409. A restock wakes the orders backordered on that sku.',
    access: { kind: 'apiKey', roles: WAREHOUSE },
    request: {
      body: bodies.InventoryAdjustment,
      bodyExample: { warehouseId: 'wh-east', sku: 'MUG-CERAMIC', delta: 10, reason: 'restock', note: 'PO 4711' },
    },
    idempotencyKey: 'inventory',
    temporal: true,
    failures: ['NotFound', 'NotEnoughStock', 'IdempotencyKeyReused'],
    responses: {
      201: { description: 'Applied; the new levels.', schema: AdjustmentResult },
      200: { description: 'This Idempotency-Key was applied before: nothing changed.', schema: AdjustmentResult },
      404: notFound('Warehouse or sku'),
      409: conflict(
        'The delta would take reserved or missing units, or the Idempotency-Key was used for another adjustment.',
      ),
    },
  },
  {
    method: 'get',
    path: '/inventory',
    operationId: 'listInventory',
    tag: 'inventory',
    summary: 'Stock levels',
    description: 'On-hand, reserved and available per warehouse and sku; both filters optional.',
    access: { kind: 'apiKey', roles: WAREHOUSE },
    request: { query: InventoryQuery },
    responses: { 200: { description: 'Stock levels.', schema: InventoryList } },
  },
  {
    method: 'get',
    path: '/healthz',
    operationId: 'health',
    tag: 'operations',
    summary: 'Health',
    description: '200 only when Postgres and Temporal both answer (each within 2 s).',
    access: { kind: 'public' },
    responses: {
      200: { description: 'Healthy.', schema: Health },
      503: {
        description: 'Postgres or Temporal does not answer.',
        schema: Health,
        example: { status: 'unavailable', checks: { postgres: 'ok', temporal: 'unavailable' } },
      },
    },
  },
  {
    method: 'get',
    path: '/metrics',
    operationId: 'metrics',
    tag: 'operations',
    summary: 'Prometheus metrics',
    description:
      'Prometheus text format: request durations by route and status, orders accepted by channel, rejected requests by reason, webhook signature failures, idempotent replays, orders by status. For the `monitoring` role (what Prometheus holds: it reads metrics and nothing else) and admins; counts of the business are not for every caller.',
    access: { kind: 'apiKey', roles: MONITORING },
    responses: { 200: { description: 'Prometheus text exposition format.', contentType: 'text/plain; version=0.0.4' } },
  },
  {
    method: 'get',
    path: '/openapi.json',
    operationId: 'openapi',
    tag: 'operations',
    summary: 'This document',
    description: 'The OpenAPI 3.1 document, generated from the same zod schemas that validate requests.',
    access: { kind: 'public' },
    responses: { 200: { description: 'The OpenAPI document.', schema: OpenApiDocument } },
  },
  {
    method: 'get',
    path: '/docs',
    operationId: 'docs',
    tag: 'operations',
    summary: 'Interactive documentation',
    description: 'Swagger UI over `/openapi.json`.',
    access: { kind: 'public' },
    responses: { 200: { description: 'An HTML page.', contentType: 'text/html' } },
  },
];

/**
 * Issue 4's routes (api/returns/returns.ts, api/reports/reports.ts). Part of the table from the
 * start, so their access rules hold as soon as the routers are mounted.
 */
export const RETURN_OPERATIONS: Operation[] = [
  {
    method: 'post',
    path: '/orders/{orderId}/returns',
    operationId: 'requestReturn',
    tag: 'returns',
    summary: 'Request a return',
    description:
      'Inside the return window, for delivered units not yet returned: answers the return authorization with its label. A workflow update, so concurrent requests are serialized.',
    access: { kind: 'apiKey', roles: SERVICE_AND_UP },
    request: {
      params: OrderIdParams,
      body: bodies.CreateReturnRequest,
      bodyExample: { items: [{ sku: 'MUG-CERAMIC', quantity: 1 }], reason: 'damaged', comment: 'arrived chipped' },
    },
    idempotencyKey: 'replay',
    temporal: true,
    failures: ['NotFound', 'ReturnNotAllowed', 'ReturnLabelUnavailable'],
    responses: {
      201: {
        description: 'The return authorization.',
        schema: ReturnViewSchema,
        links: {
          receiveReturn: { operationId: 'receiveReturn', parameters: { returnId: '$response.body#/returnId' } },
        },
      },
      404: notFound('Order'),
      409: conflict('Outside the return window, not delivered, or more units than are left to return.'),
      503: {
        description:
          'Temporal did not answer in time, or no carrier sold a return label (nothing was claimed); retry after `Retry-After` seconds.',
      },
    },
  },
  {
    method: 'post',
    path: '/warehouse/returns/{returnId}/receipt',
    operationId: 'receiveReturn',
    tag: 'warehouse',
    summary: 'The warehouse received a return parcel',
    description:
      'What the warehouse found in it, per sku and condition; resalable units go back on the shelf and the refund follows.',
    access: { kind: 'apiKey', roles: WAREHOUSE },
    request: {
      params: ReturnIdParams,
      body: bodies.ReturnReceipt,
      bodyExample: { units: [{ sku: 'MUG-CERAMIC', quantity: 1, condition: 'damaged' }] },
    },
    idempotencyKey: 'replay',
    temporal: true,
    failures: ['UnknownReturn'],
    responses: { 202: { description: 'Accepted.', schema: Accepted }, 404: notFound('Return') },
  },
  {
    method: 'get',
    path: '/reports/returns',
    operationId: 'returnsReport',
    tag: 'reports',
    summary: 'Returns report',
    description: 'Returns, units and refunds by reason and by sku, between `from` and `to`.',
    access: { kind: 'apiKey', roles: SUPPORT },
    request: { query: ReturnsReportQuery },
    responses: { 200: { description: 'The report.', schema: ReturnsReport } },
  },
];

/** Issue 11: the operations KPIs and the dashboard that shows them (api/kpis.ts, api/dashboard.ts). */
export const KPI_OPERATIONS: Operation[] = [
  {
    method: 'get',
    path: '/reports/kpis',
    operationId: 'kpiReport',
    tag: 'reports',
    summary: 'Operations KPIs',
    description:
      'The numbers the operation runs on, computed in Postgres over the read model, the timeline, shipments and returns. Every figure is over a cohort: the orders placed in [`from`, `to`) (in `channel`, at `warehouseId`), followed to what has happened to them so far; `series` repeats the figures per day or week (in `tz`) of placement; `open` is what is open now. Each field’s description is its definition (docs/kpis.md says the same at length). `from` after `to`, a range over 366 days, an unknown channel, warehouse or time zone: 400 naming the parameter.',
    access: { kind: 'apiKey', roles: SUPPORT },
    request: { query: KpisQuery },
    responses: { 200: { description: 'The report.', schema: KpiReport } },
  },
  {
    method: 'get',
    path: '/dashboard',
    operationId: 'dashboard',
    tag: 'reports',
    summary: 'Operations dashboard',
    description:
      'An HTML page over `GET /reports/kpis`: it holds no secret, asks for a support or admin key once (kept in sessionStorage) and shows nothing without one.',
    access: { kind: 'public' },
    responses: { 200: { description: 'An HTML page.', contentType: 'text/html' } },
  },
  ...(
    [
      ['/dashboard/app.js', 'dashboardScript', 'The dashboard’s script', 'text/javascript'],
      ['/dashboard/app.css', 'dashboardStyles', 'The dashboard’s styles', 'text/css'],
      ['/dashboard/chart.umd.js', 'dashboardCharts', 'Chart.js, from the installed npm package', 'text/javascript'],
    ] as const
  ).map(([path, operationId, summary, contentType]): Operation => ({
    method: 'get',
    path,
    operationId,
    tag: 'reports',
    summary,
    description: 'A static asset of `/dashboard`.',
    access: { kind: 'public' },
    responses: { 200: { description: summary, contentType } },
  })),
];

/** Issue 9: Temporal Web's remote codec (api/operations/codec.ts): payloads in clear for operators. */
export const CODEC_OPERATIONS: Operation[] = (['decode', 'encode'] as const).map((direction): Operation => ({
  method: 'post',
  path: `/codec/${direction}`,
  operationId: `codec${direction === 'decode' ? 'Decode' : 'Encode'}`,
  tag: 'operations',
  summary: direction === 'decode' ? 'Decrypt payloads for Temporal Web' : 'Encrypt payloads from Temporal Web',
  description:
    direction === 'decode'
      ? 'Temporal Web’s remote codec protocol: the payloads of a history (proto JSON, base64 fields) come back decrypted; payloads that are not encrypted come back as they are. `X-Namespace` is accepted and ignored (one namespace). For support and admins only: a decoded history holds customer data. CORS for the Temporal Web origins in `CODEC_CORS_ORIGINS`.'
      : 'Temporal Web’s remote codec protocol: payloads an operator sends from Temporal Web (a signal’s input) come back encrypted with the current key. For support and admins only.',
  access: { kind: 'apiKey', roles: SUPPORT },
  request: { body: CodecRequest, bodyExample: CodecRequest.meta()?.example },
  ...(direction === 'decode' ? { failures: ['UnknownEncryptionKey'] as const } : {}),
  responses:
    direction === 'decode'
      ? {
          200: { description: 'The payloads, decrypted, in the same order.', schema: CodecRequest },
          422: { description: 'A payload was encrypted with a key this API does not have.' },
        }
      : { 200: { description: 'The payloads, encrypted, in the same order.', schema: CodecRequest } },
}));

const waveId = z
  .string()
  .min(1)
  .max(100)
  .regex(/^[A-Za-z0-9][A-Za-z0-9_.-]*$/, 'letters, digits, "_", "-" and "." only')
  .meta({ description: 'A wave: `<warehouseId>-w<n>`.', example: 'wh-east-w12' });
export const WaveIdParams = z.strictObject({ waveId });
export const ListWavesQuery = z.strictObject({
  warehouseId: freeText(64).min(1).optional().meta({ example: 'wh-east' }),
  status: z.enum(waveStatuses).optional(),
});

/** Issue 10: wave picking (api/waves/waves.ts). Operational reads, for the warehouse and support. */
export const WAVE_OPERATIONS: Operation[] = [
  {
    method: 'get',
    path: '/waves',
    operationId: 'listWaves',
    tag: 'waves',
    summary: 'List waves',
    description:
      'Waves of shipments released to the warehouse floor, newest first (at most 100); filters `warehouseId` and `status` (`open`: shipments still gathering).',
    access: { kind: 'apiKey', roles: WAVE_READERS },
    request: { query: ListWavesQuery },
    responses: { 200: { description: 'Waves.', schema: WaveList } },
  },
  {
    method: 'get',
    path: '/waves/{waveId}',
    operationId: 'getWave',
    tag: 'waves',
    summary: 'Read a wave',
    description:
      'Its shipments with priority, carrier, pick answer and label; the batch pick list by zone in bin order; status and the time of each status.',
    access: { kind: 'apiKey', roles: WAVE_READERS },
    request: { params: WaveIdParams },
    failures: ['UnknownWave'],
    responses: {
      200: {
        description: 'The wave.',
        schema: WaveViewSchema,
        links: { getWaveLabels: { operationId: 'getWaveLabels', parameters: { waveId: '$response.body#/waveId' } } },
      },
      404: notFound('Wave'),
    },
  },
  {
    method: 'get',
    path: '/waves/{waveId}/labels.pdf',
    operationId: 'getWaveLabels',
    tag: 'waves',
    summary: 'The wave’s label sheet',
    description:
      'A printable PDF: one 4×6 in page per label bought in the wave’s batch, in print order (priority), each with its tracking barcode. No labels yet: a PDF with none is not made, 404.',
    access: { kind: 'apiKey', roles: WAVE_READERS },
    request: { params: WaveIdParams },
    failures: ['UnknownWave'],
    responses: { 200: { description: 'The label sheet.', contentType: 'application/pdf' }, 404: notFound('Wave') },
  },
];

/** Every operation the API serves. */
export const ALL_OPERATIONS: Operation[] = [
  ...OPERATIONS,
  ...RETURN_OPERATIONS,
  ...KPI_OPERATIONS,
  ...CODEC_OPERATIONS,
  ...WAVE_OPERATIONS,
];

/**
 * Every failure an operation can answer with: its own (`failures`) and those its flags imply. The
 * OpenAPI document shows each as an example of its status's response.
 */
export function operationFailures(operation: Operation): CallerFailureType[] {
  const { access, request } = operation;
  const implied: CallerFailureType[] = [];
  if (request?.body || request?.params || request?.query) implied.push('InvalidRequest');
  if (request?.body) implied.push('MalformedJson', 'BodyTooLarge', 'UnsupportedMediaType');
  if (access.kind === 'apiKey') implied.push('Unauthorized', 'Forbidden');
  if (access.kind === 'carrierSignature') implied.push('Unauthorized', 'MalformedJson');
  if (operation.idempotencyKey === 'replay') implied.push('IdempotencyKeyReused', 'RequestInProgress');
  if (operation.temporal) implied.push('TemporalUnavailable');
  implied.push('InternalError');
  return [...new Set([...(operation.failures ?? []), ...implied])];
}

/**
 * `/orders/{orderId}` → a regular expression over request paths that matches what Express routes
 * there: case-insensitive, an optional trailing slash. (A narrower match would let `/ORDERS` past
 * the access rules of `/orders` to the same handler.)
 */
export function pathPattern(path: string): RegExp {
  const source = path
    .split(/(\{[^}]+\})/)
    .map((part) => (part.startsWith('{') ? '[^/]+' : part.replace(/[.*+?^$()|[\]\\]/g, '\\$&')))
    .join('');
  return new RegExp(`^${source}/?$`, 'i');
}

const compiled = ALL_OPERATIONS.map((operation) => ({ operation, pattern: pathPattern(operation.path) }));

/** The operation a request is for, or the methods its path allows (for a 405), or nothing. */
export function operationFor(method: string, path: string): { operation: Operation } | { allowed: string[] } | null {
  const matches = compiled.filter(({ pattern }) => pattern.test(path));
  const wanted = method.toLowerCase() === 'head' ? 'get' : method.toLowerCase();
  const exact = matches.find(({ operation }) => operation.method === wanted);
  if (exact) return { operation: exact.operation };
  return matches.length > 0
    ? { allowed: [...new Set(matches.map(({ operation }) => operation.method.toUpperCase()))] }
    : null;
}
