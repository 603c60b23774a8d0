import { patched } from '@temporalio/workflow';
import type { ShipmentWorkflowInput } from '../../domain/order.js';
import { Patch } from '../patches.js';

/** How an order (or one of its shipments) runs, by the patches it started under; decided once, at its start. */
export interface OrderShape {
  /**
   * Patch.LeanBookkeeping: milestones and notices are held and written in one go just before the
   * workflow waits (`wait`) or ends (`flush`), not one activity (or one report) each, and the status
   * search attribute is upserted only when it changes. An order that began before the change keeps
   * writing each milestone on its own.
   */
  lean: boolean;
  /**
   * Patch.FeedbackInOutbox (lean orders only): the feedback request is scheduled in the outbox at
   * delivery, and the read model is written before a wait by a local activity.
   */
  feedbackInOutbox: boolean;
  /**
   * Patch.LoneShipmentInOrder (orders only): a plan of one shipment runs it inside this workflow
   * (workflows/shipment.ts, `shipmentInOrderWorkflow`).
   */
  loneShipmentInOrder: boolean;
  /** Patch.LoneShipmentInOrder: a parcel's tracking keeps one timer per deadline across the carrier's scans (deadline.ts). */
  oneTimerPerDeadline: boolean;
  /**
   * Patch.SharedTimerAndWrites: a shipment's warehouse SLAs and tracking deadlines share one lazy
   * timer (deadline.ts), and a shipment inside its order's workflow has its steps carry the order's
   * writes (record.ts, `carryingHeld`).
   */
  sharedTimerAndWrites: boolean;
}

/**
 * Only an order asks `patched()`; its shipments are told in their input (no marker of their own).
 * The newest shape first: it implies the older ones, so a new order records one patch marker (and
 * one TemporalChangeVersion upsert), not several. The calls' order is part of every history.
 */
export function orderShape(asShipment: ShipmentWorkflowInput | null): OrderShape {
  const sharedTimerAndWrites = asShipment
    ? asShipment.sharedTimerAndWrites === true
    : patched(Patch.SharedTimerAndWrites);
  const loneShipmentInOrder = !asShipment && (sharedTimerAndWrites || patched(Patch.LoneShipmentInOrder));
  const oneTimerPerDeadline = asShipment ? asShipment.oneTimerPerDeadline === true : loneShipmentInOrder;
  const feedbackInOutbox = !asShipment && (loneShipmentInOrder || patched(Patch.FeedbackInOutbox));
  const lean = asShipment ? asShipment.lean === true : feedbackInOutbox || patched(Patch.LeanBookkeeping);
  return { lean, feedbackInOutbox, loneShipmentInOrder, oneTimerPerDeadline, sharedTimerAndWrites };
}
