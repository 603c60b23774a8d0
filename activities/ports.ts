import type { Box } from '../domain/order.js';
import type { PickZone } from '../domain/waves.js';
import type { ShippingAddress } from '../domain/schemas.js';

/**
 * The external companies the engine talks to. Each has a built-in simulator (simulators/);
 * a real provider is another implementation of the same interface.
 * Every effect carries an idempotency key, so a retried activity never charges or ships twice.
 */

export class PaymentDeclinedError extends Error {
  override readonly name = 'PaymentDeclinedError';
}

/**
 * A party refuses a request that contradicts what already happened: capturing a voided
 * authorization, voiding a captured one, refunding more than was captured, voiding a label the
 * carrier already has. Asking again cannot change the answer.
 */
export class RequestRefusedError extends Error {
  override readonly name = 'RequestRefusedError';
}

/**
 * A card gateway. An authorization is captured or voided, never both: a captured one cannot be
 * voided (its money comes back by refund), a voided one cannot be captured, and refunds never
 * exceed their capture; each refusal is a `RequestRefusedError`.
 */
export interface PaymentGateway {
  authorize(request: {
    idempotencyKey: string;
    token: string;
    amount: number;
    currency: string;
  }): Promise<{ reference: string }>;
  capture(request: {
    idempotencyKey: string;
    authorization: string;
    amount: number;
    currency: string;
  }): Promise<{ reference: string }>;
  void(request: { idempotencyKey: string; authorization: string }): Promise<{ reference: string }>;
  refund(request: {
    idempotencyKey: string;
    capture: string;
    amount: number;
    currency: string;
  }): Promise<{ reference: string }>;
  /**
   * What the effect requested under this idempotency key did, or null if the gateway performed none
   * (never asked, or declined). How an undo learns of an effect whose answer was lost.
   */
  lookup(request: { idempotencyKey: string }): Promise<{ reference: string; amount: number; currency: string } | null>;
}

export interface WarehouseLine {
  sku: string;
  quantity: number;
}

/** A warehouse management system: takes tasks, and reports them done through the API's warehouse endpoint. */
export interface WarehouseSystem {
  requestPick(task: { taskId: string; orderId: string; warehouseId: string; lines: WarehouseLine[] }): Promise<void>;
  requestPack(task: {
    taskId: string;
    orderId: string;
    warehouseId: string;
    lines: WarehouseLine[];
    box: Box;
    expectedWeightGrams: number;
  }): Promise<void>;
  /**
   * A wave's batch pick: one walk over the floor for several shipments (`pickList`, zones in order,
   * each line marked with its shipment). The warehouse answers per shipment through the API's
   * warehouse endpoint (`waveId` and `shipmentId` in the event). The same task ID again changes nothing.
   */
  requestWavePick(task: {
    taskId: string;
    waveId: string;
    warehouseId: string;
    pickList: PickZone[];
    shipments: { shipmentId: string; orderId: string }[];
  }): Promise<void>;
  /**
   * Withdraws a task not yet done (the order was cancelled); a done or unknown task is left alone.
   * The same key again changes nothing.
   */
  cancelTask(task: { idempotencyKey: string; taskId: string }): Promise<void>;
  /**
   * A return parcel is on its way: the warehouse reports its receipt and the condition of each unit
   * through the API's return receipt endpoint.
   */
  expectReturn(task: { returnId: string; orderId: string; warehouseId: string; items: WarehouseLine[] }): Promise<void>;
  /** Puts an order's picked units back on the shelf, unpacking them first if they were packed. */
  requestReturnToShelf(task: {
    taskId: string;
    orderId: string;
    warehouseId: string;
    lines: WarehouseLine[];
    unpack: boolean;
  }): Promise<void>;
}

export interface Place {
  name: string;
  city: string;
  region: string;
  postalCode?: string;
  country: string;
}

export interface CarrierRate {
  carrier: string;
  service: string;
  transitDays: number;
  /** What the label costs us, minor units. */
  cost: number;
  currency: string;
}

export interface ParcelRequest {
  from: Place;
  to: ShippingAddress;
  weightGrams: number;
  box: Box;
}

/** A label as the carrier keeps it: `sold`, `voided` (not billed), or `handed_over` (the parcel is with the carrier). */
export interface CarrierLabel {
  carrier: string;
  service: string;
  trackingNumber: string;
  cost: number;
  currency: string;
  status: 'sold' | 'voided' | 'handed_over';
}

/**
 * All carriers we ship with: rates, labels, and pickup; tracking events come back through the
 * carrier webhook. The same idempotency key again gets the first answer and changes nothing.
 */
export interface Carriers {
  rates(parcel: ParcelRequest): Promise<CarrierRate[]>;
  buyLabel(
    request: ParcelRequest & { idempotencyKey: string; carrier: string; service: string },
  ): Promise<{ trackingNumber: string; cost: number }>;
  /**
   * Several labels in one call (a wave's batch), answered in the order asked; each is idempotent
   * under its own key, as `buyLabel` is.
   */
  buyLabels(
    requests: (ParcelRequest & { idempotencyKey: string; carrier: string; service: string })[],
  ): Promise<{ trackingNumber: string; cost: number }[]>;
  /**
   * The label sold under this idempotency key (by any of the carriers), or null if none was sold.
   * How an undo learns of a label whose answer was lost.
   */
  findLabel(request: { idempotencyKey: string }): Promise<CarrierLabel | null>;
  /** A prepaid label for the customer to send items back to the warehouse. */
  buyReturnLabel(request: {
    idempotencyKey: string;
    from: ShippingAddress;
    to: Place;
  }): Promise<{ carrier: string; trackingNumber: string }>;
  /** Asks the carrier to look for a parcel that is late or lost. */
  openTrace(request: {
    idempotencyKey: string;
    carrier: string;
    trackingNumber: string;
    reason: string;
  }): Promise<{ traceId: string }>;
  /**
   * Cancels an unused label so it is not billed. A label already handed over cannot be voided
   * (`RequestRefusedError`); voiding a voided label changes nothing.
   */
  voidLabel(request: { idempotencyKey: string; carrier: string; trackingNumber: string }): Promise<void>;
  /**
   * The parcel leaves the warehouse: the carrier scans it and starts reporting tracking events.
   * A voided label cannot be handed over (`RequestRefusedError`).
   */
  handOver(request: {
    idempotencyKey: string;
    carrier: string;
    trackingNumber: string;
    service: string;
  }): Promise<void>;
}

export interface Notifier {
  send(message: { idempotencyKey: string; recipient: string; subject: string; body: string }): Promise<void>;
}
