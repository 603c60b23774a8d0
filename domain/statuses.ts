/**
 * Canonical order statuses. One name per concept, used by the workflow, the read model,
 * the API and the `OrderStatus` search attribute in Temporal Web.
 */
export const ORDER_STATUSES = [
  /** The API validated the request and started the workflow. */
  'received',
  /** Stock is reserved and the payment authorized; the free-cancel buffer is running. */
  'confirmed',
  /** Payment captured; the warehouse is picking and packing. */
  'processing',
  /** Some of the order's shipments were handed to the carrier, others are still in the warehouse. */
  'partially_shipped',
  /** A label exists and the parcel was handed to the carrier (every parcel, for a split order). */
  'shipped',
  /** The carrier reported the parcel moving. */
  'in_transit',
  /** The carrier reported the parcel on the last leg. */
  'out_for_delivery',
  /** Some of the order's shipments were delivered, others are still on their way. */
  'partially_delivered',
  /** The carrier reported delivery (of every parcel); the return window is open. */
  'delivered',
  /** The return window closed with nothing pending. Final. */
  'completed',
  /** Every unit came back (returns, or a parcel returned to sender) and was refunded. Final. */
  'returned',
  /** The parcel is late, lost or undeliverable: the customer was told, a trace is open with the carrier. */
  'delivery_exception',
  /** The payment gateway declined the authorization; stock released, nothing charged. Final. */
  'payment_failed',
  /** Not enough stock at any single warehouse to ship the whole order; nothing charged. Final. */
  'rejected',
  /** Not enough stock now; waiting for a restock until the backorder deadline. */
  'backordered',
  /** Cancelled by the customer or support, or a backorder expired; everything done was undone. Final. */
  'cancelled',
  /** A step cannot succeed without a human (e.g. the warehouse never finished a task). */
  'needs_attention',
] as const;

export type OrderStatus = (typeof ORDER_STATUSES)[number];

export const FINAL_STATUSES: readonly OrderStatus[] = [
  'completed',
  'returned',
  'payment_failed',
  'rejected',
  'cancelled',
];

/** Where one parcel is. `lost` and `returned_to_sender` end a shipment without delivery. */
export type ShipmentStatus =
  | 'label_created'
  | 'shipped'
  | 'in_transit'
  | 'out_for_delivery'
  | 'delivered'
  | 'lost'
  | 'returned_to_sender'
  | 'voided';

/**
 * A parcel in one of these statuses is (or was) with the carrier: its label is in use. Any other
 * status but `voided` (`label_created`, or a state a label passes through before hand-over) is a
 * label still at the dock, which a cancelled or abandoned order must void.
 */
export const HANDED_OVER_SHIPMENT_STATUSES: readonly ShipmentStatus[] = [
  'shipped',
  'in_transit',
  'out_for_delivery',
  'delivered',
  'lost',
  'returned_to_sender',
];

/**
 * Where one shipment of an order is, from reservation to delivery (or how it ended). Before the
 * label: `reserved`, `picked`, `packed`; then the parcel's `ShipmentStatus`; `backordered` while it
 * waits for stock, `needs_attention` while parked, `cancelled` when undone before it left.
 */
export type ShipmentProgress =
  | 'reserved'
  | 'backordered'
  | 'picked'
  | 'packed'
  | 'needs_attention'
  | 'delivery_exception'
  | 'cancelled'
  | ShipmentStatus;

/** Shipments that are (or were) with a carrier, from the order's point of view. */
export const LEFT_WAREHOUSE: readonly ShipmentProgress[] = [
  'shipped',
  'in_transit',
  'out_for_delivery',
  'delivered',
  'lost',
  'returned_to_sender',
  'delivery_exception',
];

/**
 * The order's status from its live shipments (cancelled ones aside): `delivered` when every one is,
 * `partially_delivered` when some are, the least advanced carrier status when every one left,
 * `partially_shipped` when some left, else `processing`. Null when no shipment is live.
 */
export function statusFromShipments(statuses: readonly ShipmentProgress[]): OrderStatus | null {
  const live = statuses.filter((status) => status !== 'cancelled' && status !== 'voided');
  if (live.length === 0) return null;
  if (live.includes('needs_attention')) return 'needs_attention';
  if (live.every((status) => status === 'delivered')) return 'delivered';
  if (live.includes('delivered')) return 'partially_delivered';
  if (live.includes('delivery_exception') || live.includes('lost') || live.includes('returned_to_sender'))
    return live.every((status) => LEFT_WAREHOUSE.includes(status)) ? 'delivery_exception' : 'partially_shipped';
  if (live.every((status) => LEFT_WAREHOUSE.includes(status))) {
    const order: readonly ShipmentProgress[] = ['shipped', 'in_transit', 'out_for_delivery'];
    return order[Math.min(...live.map((status) => order.indexOf(status)))] as OrderStatus;
  }
  if (live.some((status) => LEFT_WAREHOUSE.includes(status))) return 'partially_shipped';
  return 'processing';
}

/** Order of the delivery milestones; a carrier event never moves a parcel backwards. */
export const SHIPPING_PROGRESS: readonly ShipmentStatus[] = [
  'label_created',
  'shipped',
  'in_transit',
  'out_for_delivery',
  'delivered',
];

/** The carrier's last delivery attempt: after it the parcel goes back to the warehouse. */
export const MAX_DELIVERY_ATTEMPTS = 3;
