import { type SignalDefinition, log } from '@temporalio/workflow';
import { cancelShipmentSignal } from '../../domain/messages.js';
import type { PaymentView, ShipmentReport } from '../../domain/order.js';
import type { Actor } from '../../domain/schemas.js';
import type { CustomerNotice } from '../outcomes.js';
import { mustComplete } from '../proxies.js';
import type { ShipmentHandle } from '../shipment.js';
import type { Undo } from './state.js';

/**
 * What an order knows of its shipments' child workflows (Patch.ShipmentsAsChildWorkflows): their
 * handles, their reports not yet applied, and what the last report of each said of its money and
 * whether it is parked. workflows/order/shipments.ts starts and follows them.
 */
export class ShipmentChildren {
  /** The shipments, once started: child workflows, or the lone one inside this workflow (Patch.LoneShipmentInOrder). */
  readonly handles = new Map<number, ShipmentHandle>();
  /** The shipment run inside this workflow, if any (Patch.LoneShipmentInOrder). */
  inOrder: number | undefined;
  /** Shipments' reports not yet applied to the view. */
  readonly reports: ShipmentReport[] = [];
  /** Each shipment's share of the money, as its workflow last reported it. */
  readonly payments = new Map<number, PaymentView>();
  /** Which shipments are parked in needs_attention. */
  readonly parked = new Map<number, boolean>();
  /** Which shipments' undos are parked. */
  readonly undoParked = new Map<number, boolean>();
  /** The refund of a share captured for a shipment not yet started (then the shipment owns it). */
  readonly shareUndos = new Map<number, Undo>();
  /** The notice of the last shipment that undid itself, for the order to send if it closes for it. */
  closingNotice: { type: string; notice: CustomerNotice } | null = null;
  /** A cancel reached every shipment still in a warehouse, and some had already left: the rest goes on. */
  cancelSettled = false;

  constructor(private readonly orderId: string) {}

  /** Asks every started shipment to cancel (those that left ignore it; those that ended cannot hear it). */
  async cancelAll(cancel: { reason: string; requestedBy: Actor } | null): Promise<void> {
    if (!cancel) return;
    for (const n of this.handles.keys()) await this.signal(n, cancelShipmentSignal, cancel);
  }

  /**
   * Signals shipment n's workflow. One that has ended (its parcel delivered or returned) has nothing
   * left to hear: a late carrier scan, a cancel or a retry for it is dropped, not a failed workflow
   * task (which left orders stuck in `delivered`, found by the chaos suite).
   */
  async signal<T extends unknown[]>(n: number, signal: SignalDefinition<T>, ...args: T): Promise<void> {
    const child = this.handles.get(n);
    if (!child) return;
    try {
      await child.signal(signal, ...args);
    } catch (error) {
      log.info('shipment workflow has ended; signal dropped', {
        orderId: this.orderId,
        shipment: n,
        signal: signal.name,
        error: String(error),
      });
    }
  }

  /** Refunds up to `amount` from the shipments' captures in turn, each under `refund:<reason>@<n>`; answers what was refunded. */
  async refund(reason: string, amount: number): Promise<number> {
    let refunded = 0;
    for (const [shipment, payment] of [...this.payments].sort(([a], [b]) => a - b)) {
      const left = Math.min(amount - refunded, payment.captured - payment.refunded);
      if (left <= 0) continue;
      const paid = await mustComplete.refundPayment({ orderId: this.orderId, shipment, reason, amount: left });
      this.payments.set(shipment, { ...payment, refunded: payment.refunded + paid.refunded });
      refunded += paid.refunded;
    }
    return refunded;
  }
}
