import type { Channel, CreateOrderRequest, ShippingAddress, ShippingSpeed } from './schemas.js';
import type { OrderPriority } from './priority.js';
import type { PartialFulfillmentPolicy } from './allocation.js';
import type { OrderStatus, ShipmentProgress, ShipmentStatus } from './statuses.js';

/**
 * How long each wait of an order may last. The API fills it from configuration when it starts
 * the workflow, so a running order keeps the policy it was placed under.
 */
export interface OrderPolicy {
  /** Free-cancel window after the order is received, e.g. `30m`. */
  cancellationBuffer: string;
  /** Return window after delivery, e.g. `30d`. */
  returnWindow: string;
  /** How long the warehouse may take for one pick or pack task before it is asked again. */
  warehouseTaskSla: string;
  /** How many times a warehouse task is asked for before the order needs a human. */
  warehouseTaskAttempts: number;
  /** Extra time past the carrier's promise before silence counts as a late delivery. */
  deliveryGrace: string;
  /** What happens when no warehouse can ship the whole order, unless the order says otherwise. */
  backorderPolicy: 'wait' | 'reject';
  /** How long a backordered order waits for stock before it is cancelled, nothing charged. */
  backorderWait: string;
  /**
   * How often a backordered order tries to reserve again without a restock signal (a restock can land
   * before the order is listed as backordered). Absent in orders received before it existed: `1h`.
   */
  backorderRetryInterval?: string;
  /** How long the carrier has after a delivery exception before the policy decides. */
  deliveryExceptionWait: string;
  /** What a lost parcel gets: a new shipment from stock, or the money back. */
  deliveryExceptionPolicy: 'reship' | 'refund';
  /**
   * When the network cannot cover the whole order now (domain/allocation.ts): ship what is in stock
   * and backorder the rest as a later shipment, wait for all of it, or reject. Absent in orders
   * received before it existed: `ship_available`.
   */
  partialFulfillment?: PartialFulfillmentPolicy;
  /** How long a return authorization waits for the customer's parcel. */
  returnShippingWindow: string;
  /** When the customer is asked for feedback, after delivery. */
  feedbackDelay: string;
  /**
   * Minor units: an order whose total is at least this is high priority (`HIGH_VALUE_ORDER`).
   * Absent in orders received before it existed: the domain default.
   */
  highValueOrder?: number;
  /**
   * Shipments are picked and labelled in their warehouse's waves (`WAVE_PICKING`); off, each picks
   * alone and buys its own label. Absent in orders received before it existed: off.
   */
  wavePicking?: boolean;
}

export interface OrderWorkflowInput {
  request: CreateOrderRequest;
  /** sha256 of the canonical request: tells an idempotent retry from a conflicting reuse of the order ID. */
  requestHash: string;
  receivedAt: string;
  cancellableUntil: string;
  policy: OrderPolicy;
  /**
   * Decided by the API before the start (domain/priority.ts) and given to Temporal as the run's
   * task-queue priority. Absent in orders received before priorities existed: `normal`.
   */
  priority?: OrderPriority;
}

export interface PricedLine {
  sku: string;
  name: string;
  quantity: number;
  /** Minor units, from the catalog at the time of the order. */
  unitPrice: number;
  weightGrams: number;
  lengthMm: number;
  widthMm: number;
  heightMm: number;
}

export interface Totals {
  subtotal: number;
  shipping: number;
  total: number;
  currency: string;
}

export interface Quote {
  lines: PricedLine[];
  totals: Totals;
}

export type PaymentStatus = 'pending' | 'authorized' | 'captured' | 'declined' | 'voided' | 'refunded';

export interface PaymentView {
  status: PaymentStatus;
  authorized: number;
  captured: number;
  refunded: number;
}

export interface Box {
  code: string;
  lengthMm: number;
  widthMm: number;
  heightMm: number;
  maxWeightGrams: number;
  tareGrams: number;
}

export interface ShipmentView {
  /** `<orderId>-1`; a reship is `<orderId>-2`. */
  shipmentId: string;
  carrier: string;
  service: string;
  trackingNumber: string;
  status: ShipmentStatus;
  box: string;
  weightGrams: number;
  promisedBy: string;
}

/** One parcel of an order as the order view shows it. */
export interface OrderShipment {
  /** `<orderId>-<n>`. */
  shipmentId: string;
  warehouseId: string;
  items: { sku: string; quantity: number }[];
  status: ShipmentProgress;
  /** Set once a label is bought (a reship's label replaces a lost one's). */
  carrier: string | null;
  service: string | null;
  trackingNumber: string | null;
  promisedBy: string | null;
  /** The warehouse wave that picks it; null until waves exist. */
  waveId: string | null;
  /** The order's priority (its shipments are served by it); null in orders from before priorities. */
  priority: string | null;
  timeline: { at: string; type: string; detail?: string }[];
}

export type ReturnStatus = 'authorized' | 'received' | 'refunded' | 'expired';

/** A return authorization (RMA) and what became of it. */
export interface ReturnView {
  returnId: string;
  status: ReturnStatus;
  reason: string;
  comment: string | null;
  items: { sku: string; quantity: number }[];
  returnLabel: { carrier: string; trackingNumber: string } | null;
  /** The parcel must reach the warehouse by then, or the authorization expires. */
  expiresAt: string;
  /** What the warehouse found, once the parcel arrived. */
  units: { sku: string; quantity: number; condition: 'resalable' | 'damaged' }[];
  /** Minor units refunded for this return. */
  refunded: number;
  createdAt: string;
}

export interface TimelineEvent {
  seq: number;
  at: string;
  type: string;
  status: OrderStatus;
  detail?: string;
}

export interface OrderView {
  orderId: string;
  status: OrderStatus;
  customer: CreateOrderRequest['customer'];
  channel: Channel;
  /** How soon its work is served (domain/priority.ts); also the `OrderPriority` search attribute. */
  priority: OrderPriority;
  items: { sku: string; name: string | null; quantity: number; unitPrice: number | null }[];
  totals: Totals | null;
  payment: PaymentView;
  shippingSpeed: ShippingSpeed;
  shippingAddress: ShippingAddress;
  /** The order's parcels, each from one warehouse (a child workflow `shipment-<orderId>-<n>`). */
  shipments: OrderShipment[];
  receivedAt: string;
  cancellableUntil: string;
  returnableUntil: string | null;
  /** Why the order needs a human, while it does. */
  attention: string | null;
  /** Set once the order is cancelled. */
  cancellation: { reason: string; requestedBy: string; free: boolean } | null;
  /** Failed delivery attempts the carrier reported for the current shipment. */
  deliveryAttempts: number;
  returns: ReturnView[];
  timeline: TimelineEvent[];
}

/** The view of an order the moment it is received, before any step ran. */
export function initialOrderView(input: OrderWorkflowInput): OrderView {
  const { request } = input;
  return {
    orderId: request.orderId,
    status: 'received',
    customer: request.customer,
    channel: request.channel,
    priority: input.priority ?? 'normal',
    items: request.items.map((item) => ({ sku: item.sku, name: null, quantity: item.quantity, unitPrice: null })),
    totals: null,
    payment: { status: 'pending', authorized: 0, captured: 0, refunded: 0 },
    shippingSpeed: request.shippingSpeed,
    shippingAddress: request.shippingAddress,
    shipments: [],
    receivedAt: input.receivedAt,
    cancellableUntil: input.cancellableUntil,
    returnableUntil: null,
    attention: null,
    cancellation: null,
    deliveryAttempts: 0,
    returns: [],
    timeline: [{ seq: 0, at: input.receivedAt, type: 'order_received', status: 'received' }],
  };
}

/** Shipment n of an order, as its order workflow starts it (workflows/shipment.ts). */
export interface ShipmentWorkflowInput {
  /** The order's input, its items narrowed to this shipment's. */
  order: OrderWorkflowInput;
  shipment: number;
  /** Where its units are reserved; null for a backordered remainder, which reserves (and may wait) first. */
  warehouseId: string | null;
  lines: PricedLine[];
  /** This shipment's share of the order: its units, and the shipping charge with shipment 1. */
  totals: Totals;
  /** The order workflow, to report to. */
  parentWorkflowId: string;
  /** Started by an order with Patch.LeanBookkeeping (which implies every earlier patch). */
  lean?: boolean;
  /**
   * The order's only shipment (lean): its reports are held until it waits or ends, as nothing can
   * happen in between elsewhere; with several, each report goes at once, so the order's timeline
   * keeps the shipments' milestones in the order they happened.
   */
  alone?: boolean;
  /** Started by an order with Patch.LoneShipmentInOrder: its tracking keeps one timer per deadline. */
  oneTimerPerDeadline?: boolean;
  /**
   * Started by an order with Patch.SharedTimerAndWrites: its warehouse SLAs and tracking share one
   * lazy timer; inside its order's workflow, its steps carry the order's writes.
   */
  sharedTimerAndWrites?: boolean;
}

/** A customer notice a shipment asks its order to send (the order owns the customer). */
export interface ShipmentNotice {
  kind: string;
  about?: string;
  subject: string;
  body: string;
}

/** What a shipment tells its order at each milestone. */
export interface ShipmentReport {
  shipment: number;
  type: string;
  detail?: string;
  summary: OrderShipment;
  /** The shipment's share of the money: captured, and refunded so far. */
  payment: PaymentView;
  attention: string | null;
  parked: boolean;
  /** Its undos are parked (one could not complete): a cancel's caller is answered now. */
  undoParked: boolean;
  /** A parcel back to sender comes back as a return of the shipment's own (`<orderId>-<n>-r1`). */
  returns: ReturnView[];
  /** It is undoing itself: its notices are the order's to send. */
  closing: boolean;
  deliveryAttempts: number;
  leftWarehouse: boolean;
  /** The shipment's workflow is done (delivered, cancelled, or ended some other way). */
  closed: boolean;
  notice?: ShipmentNotice;
  /** Reports held back since the shipment last waited, oldest first: this one follows them. */
  earlier?: ShipmentReport[];
}

/** How a shipment's workflow ended. */
export interface ShipmentResult {
  shipment: number;
  outcome: 'delivered' | 'cancelled' | 'returned';
  summary: OrderShipment;
  payment: PaymentView;
  /** Reports held since the shipment last waited (lean): the order applies them before this result. */
  reports?: ShipmentReport[];
}
