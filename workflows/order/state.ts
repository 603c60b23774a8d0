import { ActivityFailure, CancellationScope, isCancellation, log } from '@temporalio/workflow';
import { shipmentId } from '../../domain/ids.js';
import type { UndoPhase } from '../../domain/compensation.js';
import type { OrderShipment, PricedLine, ShipmentView, Totals } from '../../domain/order.js';
import type { Actor, CarrierEvent, ReturnReceipt, WarehouseEvent } from '../../domain/schemas.js';
import type { ShipmentProgress } from '../../domain/statuses.js';
import { failureMessage, failureType, OrderClosing } from '../outcomes.js';
import type { steps } from '../proxies.js';
import { DeadlineTimer } from './deadline.js';
import { OrderRecord, type ShipmentFlags } from './record.js';
import { ShipmentChildren } from './shipment-children.js';

/** The undo of one effect: what it is, when it runs (domain/compensation.ts), and how. */
export interface Undo {
  name: string;
  phase: UndoPhase;
  /** Undoes with these activities; returns a note for the timeline, or null when there was nothing to undo. */
  run: (activities: typeof steps) => Promise<string | null>;
}

/**
 * One order's state while its workflow runs, and the moves every phase makes besides recording
 * (record.ts): run a step that may park, park, stop if cancelled. The phases (workflows/order/*.ts)
 * read and change it; the message handlers feed it.
 */
export class Order extends OrderRecord {
  /** The priced lines, once quoted. */
  lines: PricedLine[] = [];
  /** Where the current reservation is (an order of the old shape, or one shipment). */
  warehouseId: string | null = null;
  /** The current parcel's label, once bought. */
  parcel: ShipmentView | null = null;
  /** The wave this shipment was last released in (workflows/order/wave-pick.ts). */
  waveId: string | null = null;
  /** The order's shipments are child workflows (Patch.ShipmentsAsChildWorkflows): `view.shipments` is theirs. */
  shipmentsShape = false;
  /** Those child workflows, once started (shipments shape). */
  readonly children = new ShipmentChildren(this.orderId);

  /** Reservation rounds so far (a short pick or a reship starts a new one). */
  round = 0;
  /** Shipments so far (a reship is the next one). */
  shipmentNumber = 0;
  /** Every warehouse task asked for, across attempts and shipments: task IDs are never reused. */
  readonly requestedTasks: string[] = [];
  /** The undo of every effect so far, registered before the effect. */
  readonly undo: Undo[] = [];
  /** The one timer its warehouse SLAs and tracking deadlines share (Patch.SharedTimerAndWrites). */
  readonly deadlines = new DeadlineTimer(true);

  captured = false;
  /** The parcel is (being) handed to the carrier: from here on only a return helps. */
  leftWarehouse = false;
  closing = false;
  closed = false;
  cancelRequest: { reason: string; requestedBy: Actor } | null = null;
  /** The cancel came from Temporal Web: once undone, the run ends Canceled there too. */
  cancelledByOperator = false;
  parked = false;
  retryRequested = false;
  /** Closing is parked because an undo could not complete: a cancel's caller is answered now. */
  undoParked = false;
  /** The step in flight, so a cancel can stop it. */
  activeStep: CancellationScope | null = null;

  // What the outside world said, by signal.
  stockArrived = false;
  readonly warehouseEvents = new Map<string, WarehouseEvent>();
  readonly carrierEvents: CarrierEvent[] = [];
  readonly receipts = new Map<string, ReturnReceipt>();
  /** A return was requested or given back since the return window last looked. */
  returnsChanged = false;
  /** Shipping is refunded once, with the first seller-fault return. */
  shippingRefunded = false;

  /** The shipment number this state is, for effects keyed by shipment; undefined for a whole order. */
  get shipment(): number | undefined {
    return this.asShipment?.shipment;
  }

  /** What warehouse tasks, returns and such are named after: the order, or the shipment. */
  get owner(): string {
    return this.asShipment ? shipmentId(this.orderId, this.asShipment.shipment) : this.orderId;
  }

  /** The stock and money effects' subject: `{ orderId }`, plus `shipment` for one shipment of an order. */
  get subject(): { orderId: string; shipment?: number } {
    return this.asShipment ? { orderId: this.orderId, shipment: this.asShipment.shipment } : { orderId: this.orderId };
  }

  /**
   * The next label's number: 1, 2 (a reship), … for an order of the old shape; n for shipment n's
   * first parcel, n + 1000·k for its k-th reship (labels are numbered per order).
   */
  nextLabelNumber(): number {
    this.shipmentNumber += 1;
    return this.asShipment ? this.asShipment.shipment + 1000 * (this.shipmentNumber - 1) : this.shipmentNumber;
  }

  shipmentSummary(): OrderShipment {
    const parcel = this.parcel;
    const number = this.asShipment?.shipment ?? 1;
    return {
      shipmentId: shipmentId(this.orderId, number),
      warehouseId: this.warehouseId ?? '',
      items: this.warehouseLines(),
      status: this.shipmentProgress(),
      carrier: parcel?.carrier ?? null,
      service: parcel?.service ?? null,
      trackingNumber: parcel?.trackingNumber ?? null,
      promisedBy: parcel?.promisedBy ?? null,
      waveId: this.waveId,
      priority: this.input.priority ?? null,
      timeline: this.shipmentTimeline,
    };
  }

  protected ownShipments(): OrderShipment[] | null {
    if (this.shipmentsShape) return null;
    return this.warehouseId ? [this.shipmentSummary()] : [];
  }

  protected shipmentFlags(): ShipmentFlags {
    const { parked, undoParked, closing, leftWarehouse, closed } = this;
    return { parked, undoParked, closing, leftWarehouse, closed };
  }

  private shipmentProgress(): ShipmentProgress {
    const { status } = this.view;
    if (status === 'cancelled' || status === 'rejected') return 'cancelled';
    if (status === 'needs_attention' || status === 'backordered' || status === 'delivery_exception') return status;
    if (this.parcel) return this.parcel.status;
    const last = [...this.shipmentTimeline].reverse().find((e) => e.type === 'picked' || e.type === 'packed');
    return last?.type === 'packed' ? 'packed' : last?.type === 'picked' ? 'picked' : 'reserved';
  }

  get totals(): Totals {
    return this.view.totals!;
  }

  /** The lines as the warehouse sees them. */
  warehouseLines(): { sku: string; quantity: number }[] {
    return this.lines.map(({ sku, quantity }) => ({ sku, quantity }));
  }

  /** Stops the forward path here if someone cancelled the order. */
  checkpoint(): void {
    if (!this.cancelRequest) return;
    throw new OrderClosing('cancelled', 'order_cancelled', this.cancelRequest.reason, {
      kind: 'cancelled',
      subject: `Order ${this.orderId} was cancelled`,
      body: this.captured
        ? 'Your order was cancelled and your payment refunded.'
        : 'Your order was cancelled. Nothing was charged.',
    });
  }

  /**
   * Runs a forward step. Business failures named in `expected` go to the caller; any other failure
   * that outlived its retries parks the order until an operator retries (or someone cancels).
   */
  async runStep<T>(name: string, call: () => Promise<T>, expected: string[] = []): Promise<T> {
    for (;;) {
      this.checkpoint();
      const scope = new CancellationScope();
      this.activeStep = scope;
      try {
        return await scope.run(call);
      } catch (error) {
        if (isCancellation(error)) this.checkpoint();
        if (!(error instanceof ActivityFailure)) throw error;
        const type = failureType(error);
        if (type && expected.includes(type)) throw error;
        await this.park(`${name} keeps failing: ${failureMessage(error)}`);
      } finally {
        this.activeStep = null;
      }
    }
  }

  /**
   * Parks the order in needs_attention until an operator retries (returns 'retry') or `resumeWhen`
   * turns true by itself (returns 'resumed'); a cancel still goes through.
   */
  async park(reason: string, resumeWhen: () => boolean = () => false): Promise<'retry' | 'resumed'> {
    const previous = this.view.status;
    this.parked = true;
    this.retryRequested = false;
    this.view.attention = reason;
    this.lastProblem = reason;
    // Operators find parked orders by search attribute; the customer is not bothered with it.
    log.warn('order needs attention', { orderId: this.orderId, reason });
    await this.record('needs_attention', 'needs_attention', reason);
    let resumed = false;
    await this.wait(() => {
      resumed ||= resumeWhen();
      return resumed || this.retryRequested || this.cancelRequest !== null;
    });
    this.parked = false;
    this.checkpoint();
    this.view.attention = null;
    const how = resumed ? 'resumed' : 'retry';
    await this.record(how === 'retry' ? 'step_retried' : 'step_resumed', previous);
    // The retry's caller is answered now: the read model says so too (lean: it was held).
    await this.flush();
    return how;
  }
}
