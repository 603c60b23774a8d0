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
  /** A label exists and the parcel was handed to the carrier. */
  'shipped',
  /** The carrier reported the parcel moving. */
  'in_transit',
  /** The carrier reported the parcel on the last leg. */
  'out_for_delivery',
  /** The carrier reported delivery; the return window is open. */
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
