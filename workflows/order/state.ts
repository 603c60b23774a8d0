import {
  ActivityFailure,
  CancellationScope,
  type ChildWorkflowHandle,
  type SignalDefinition,
  type Workflow,
  condition,
  getExternalWorkflowHandle,
  isCancellation,
  log,
  patched,
  setCurrentDetails,
  upsertSearchAttributes,
  workflowInfo,
} from '@temporalio/workflow';
import { shipmentId } from '../../domain/ids.js';
import { cancelShipmentSignal, shipmentReportSignal } from '../../domain/messages.js';
import type { UndoPhase } from '../../domain/compensation.js';
import {
  initialOrderView,
  type OrderShipment,
  type OrderView,
  type OrderWorkflowInput,
  type PaymentView,
  type PricedLine,
  type ShipmentReport,
  type ShipmentView,
  type ShipmentWorkflowInput,
  type Totals,
} from '../../domain/order.js';
import { orderCurrentDetails } from '../../domain/operator-view.js';
import type { Actor, CarrierEvent, ReturnReceipt, WarehouseEvent } from '../../domain/schemas.js';
import { OrderStatusAttribute } from '../../domain/search-attributes.js';
import type { OrderStatus, ShipmentProgress } from '../../domain/statuses.js';
import { type CustomerNotice, failureMessage, failureType, OrderClosing } from '../outcomes.js';
import { Patch } from '../patches.js';
import { localBookkeeping, mustComplete, type steps } from '../proxies.js';
import type { ReadModelWrite } from '../../activities/read-model.js';

/** The undo of one effect: what it is, when it runs (domain/compensation.ts), and how. */
export interface Undo {
  name: string;
  phase: UndoPhase;
  /** Undoes with these activities; returns a note for the timeline, or null when there was nothing to undo. */
  run: (activities: typeof steps) => Promise<string | null>;
}

/**
 * One order's state while its workflow runs, and the few moves every phase makes: record a
 * milestone, tell the customer, run a step that may park, park, stop if cancelled. The phases
 * (workflows/order/*.ts) read and change it; the message handlers feed it.
 */
export class Order {
  readonly orderId: string;
  readonly request: OrderWorkflowInput['request'];
  readonly policy: OrderWorkflowInput['policy'];
  readonly view: OrderView;
  /** The priced lines, once quoted. */
  lines: PricedLine[] = [];
  /** Where the current reservation is (an order of the old shape, or one shipment). */
  warehouseId: string | null = null;
  /** The current parcel's label, once bought. */
  parcel: ShipmentView | null = null;
  /** The wave this shipment was last released in (workflows/order/wave-pick.ts). */
  waveId: string | null = null;
  /**
   * Set when this state is shipment n of an order (workflows/shipment.ts): its milestones and
   * notices go to the order's workflow, its effects are keyed by the shipment.
   */
  readonly asShipment: ShipmentWorkflowInput | null;
  /** The order's shipments are child workflows (Patch.ShipmentsAsChildWorkflows): `view.shipments` is theirs. */
  shipmentsShape = false;
  /** This shipment's milestones, for the order view's shipment timeline. */
  readonly shipmentTimeline: OrderShipment['timeline'] = [];

  /** Reservation rounds so far (a short pick or a reship starts a new one). */
  round = 0;
  /** Shipments so far (a reship is the next one). */
  shipmentNumber = 0;
  /** Every warehouse task asked for, across attempts and shipments: task IDs are never reused. */
  readonly requestedTasks: string[] = [];
  /** The undo of every effect so far, registered before the effect. */
  readonly undo: Undo[] = [];

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
  /** Why the order last parked, kept after it resumed: Temporal Web's current details show it. */
  lastProblem: string | null = null;

  // What the outside world said, by signal.
  stockArrived = false;
  readonly warehouseEvents = new Map<string, WarehouseEvent>();
  readonly carrierEvents: CarrierEvent[] = [];
  readonly receipts = new Map<string, ReturnReceipt>();
  /** A return was requested or given back since the return window last looked. */
  returnsChanged = false;
  /** Shipping is refunded once, with the first seller-fault return. */
  shippingRefunded = false;

  private seq = 0;

  /**
   * Patch.LeanBookkeeping: milestones and notices are held and written in one go just before the
   * workflow waits (`wait`) or ends (`flush`), not one activity (or one report) each, and the status
   * search attribute is upserted only when it changes. Decided once, at the start: an order that
   * began before the change keeps writing each milestone on its own.
   */
  readonly lean: boolean;
  /** The view has changed since the read model last had it (lean). */
  private unwritten = false;
  /** The `OrderStatus` search attribute as last set (lean: upserted with the view, when it changed). */
  private upsertedStatus: string | null;
  /** Notices for the outbox, written with the next view (lean). */
  private readonly unsentNotices: CustomerNotice[] = [];
  /** A shipment's reports not yet sent to its order (lean). */
  private readonly heldReports: ShipmentReport[] = [];
  /**
   * Patch.FeedbackInOutbox (lean orders only): the feedback request is scheduled in the outbox at
   * delivery, and the read model is written before a wait by a local activity. Decided at the start.
   */
  readonly feedbackInOutbox: boolean;
  /** When the scheduled feedback request goes out (feedbackInOutbox; null while none is scheduled). */
  feedbackDueAt: number | null = null;
  /** Outbox keys of scheduled notices to take back with the next write (feedbackInOutbox). */
  private readonly withdrawals: string[] = [];

  constructor(
    readonly input: OrderWorkflowInput,
    asShipment: ShipmentWorkflowInput | null = null,
  ) {
    // A shipment is lean when its order is (no marker of its own); it implies every earlier patch.
    // The newest shape first: it implies the lean one, so a new order records one patch marker (and
    // one TemporalChangeVersion upsert), not two. Only an order asks; its shipments are told.
    this.feedbackInOutbox = !asShipment && patched(Patch.FeedbackInOutbox);
    this.lean = asShipment ? asShipment.lean === true : this.feedbackInOutbox || patched(Patch.LeanBookkeeping);
    this.upsertedStatus = workflowInfo().typedSearchAttributes.get(OrderStatusAttribute) ?? null;
    this.request = input.request;
    this.policy = input.policy;
    this.orderId = input.request.orderId;
    this.view = initialOrderView(input);
    setCurrentDetails(orderCurrentDetails(this.view, null));
    this.asShipment = asShipment;
  }

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

  /** This shipment as the order view shows it. */
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

  /** Records a milestone: timeline, status, search attribute, read model. */
  async record(type: string, status: OrderStatus = this.view.status, detail?: string): Promise<void> {
    this.seq += 1;
    this.view.status = status;
    this.view.timeline.push({
      seq: this.seq,
      at: new Date().toISOString(),
      type,
      status,
      ...(detail ? { detail } : {}),
    });
    // What Temporal Web shows as the order's (or shipment's) current details; no command, so no patch.
    setCurrentDetails(orderCurrentDetails(this.view, this.lastProblem));
    if (this.asShipment) {
      this.shipmentTimeline.push({ at: new Date().toISOString(), type, ...(detail ? { detail } : {}) });
      await this.report(type, detail);
      return;
    }
    // An order of the old shape shows its one parcel as the view's one shipment.
    if (!this.shipmentsShape) this.view.shipments = this.warehouseId ? [this.shipmentSummary()] : [];
    if (!this.lean) {
      upsertSearchAttributes([{ key: OrderStatusAttribute, value: status }]);
      await mustComplete.recordOrderUpdate({ order: this.input, view: this.view });
      return;
    }
    this.unwritten = true;
  }

  /**
   * Lean: a step whose success is a milestone writes that milestone itself. `apply` changes the view
   * as success will (records, notices) before the call; the view and the notices held so far go with
   * the call, and its activity writes them once its effect has landed (activities/read-model.ts,
   * `withReadModelWrite`). A call that fails takes `apply` back (and `revert` what is not the view),
   * so a decline, a park or a cancel sees the order as it was. One activity instead of two.
   */
  async stepWithMilestone<T>(
    call: (readModel: ReadModelWrite) => Promise<T>,
    apply: () => void,
    revert: () => void = () => {},
  ): Promise<T> {
    const saved = { view: JSON.stringify(this.view), notices: this.unsentNotices.length };
    apply();
    const notices = this.unsentNotices.splice(0);
    const unwritten = this.unwritten;
    this.unwritten = false;
    try {
      return await call({ order: this.input, view: this.view, ...(notices.length ? { notices } : {}) });
    } catch (error) {
      const view = JSON.parse(saved.view) as OrderView;
      for (const key of Object.keys(this.view)) delete (this.view as unknown as Record<string, unknown>)[key];
      Object.assign(this.view, view);
      // The sequence is not taken back: an attempt whose write landed before the step failed keeps
      // its event, and the next milestone must not reuse its number (events are written once per seq).
      this.unsentNotices.push(...notices.slice(0, saved.notices));
      this.unwritten = unwritten;
      revert();
      setCurrentDetails(orderCurrentDetails(this.view, this.lastProblem));
      throw error;
    }
  }

  /** Lean, inside `stepWithMilestone`'s `apply`: records a milestone of the order (no await: nothing is written here). */
  hold(type: string, status: OrderStatus, detail?: string, notice?: CustomerNotice): void {
    void this.record(type, status, detail);
    if (notice) this.unsentNotices.push(notice);
  }

  /** Marks the view as not yet in the read model (lean): the next flush writes it. */
  holdView(): void {
    this.unwritten = true;
  }

  /** A shipment's reports not yet sent: they go back to the order with its result. */
  takeHeldReports(): ShipmentReport[] {
    return this.heldReports.splice(0);
  }

  async notify(notice: CustomerNotice): Promise<void> {
    // The order owns the customer: a shipment asks it to tell them.
    if (this.asShipment) return this.report('notice', undefined, notice);
    // Lean: into the outbox in the same transaction as the next view (activities/read-model.ts).
    if (this.lean) return void this.unsentNotices.push(notice);
    await mustComplete.notifyCustomer({ orderId: this.orderId, recipient: this.request.customer.email, ...notice });
  }

  /** Takes back a scheduled notice that has not gone out yet, with the next write (feedbackInOutbox). */
  withdrawNotice(key: string): void {
    this.withdrawals.push(key);
  }

  /**
   * Writes what is held (lean): the order's view with its new timeline events and notices in one
   * activity, or a shipment's reports in one signal to its order. Called before every wait and at
   * the end, so nothing stays only in the workflow while it is idle.
   */
  async flush(): Promise<void> {
    if (!this.lean) return;
    const { asShipment } = this;
    if (asShipment) {
      const held = this.heldReports.splice(0);
      const last = held.pop();
      if (!last) return;
      await getExternalWorkflowHandle(asShipment.parentWorkflowId).signal(shipmentReportSignal, {
        ...last,
        ...(held.length ? { earlier: held } : {}),
      });
      return;
    }
    // One upsert per status the order rests in (the API started it as `received`).
    const { status } = this.view;
    if (status !== this.upsertedStatus) {
      upsertSearchAttributes([{ key: OrderStatusAttribute, value: status }]);
      this.upsertedStatus = status;
    }
    if (!this.unwritten && this.unsentNotices.length === 0 && this.withdrawals.length === 0) return;
    const notices = this.unsentNotices.splice(0);
    const withdraw = this.withdrawals.splice(0);
    this.unwritten = false;
    const write = {
      order: this.input,
      view: this.view,
      ...(notices.length ? { notices } : {}),
      ...(withdraw.length ? { withdraw } : {}),
    };
    // A local activity: one marker in the task that goes on to wait, not three events and a task of its own.
    if (this.feedbackInOutbox) await localBookkeeping.recordOrderUpdate(write);
    else await mustComplete.recordOrderUpdate(write);
  }

  /**
   * `condition`, after writing what is held (lean) if the workflow is about to block: a wait is
   * where a read model written later would show an order behind its workflow.
   */
  async wait(until: () => boolean, timeout?: number, options?: { summary: string }): Promise<boolean> {
    if (this.lean) {
      // Asked once: some conditions take what they find (a warehouse answer is seen once).
      if (until()) return true;
      await this.flush();
    }
    if (timeout === undefined) {
      await condition(until);
      return true;
    }
    return options ? condition(until, timeout, options) : condition(until, timeout);
  }

  /** Each shipment's share of the money, as its workflow last reported it (shipments shape). */
  readonly shipmentPayments = new Map<number, PaymentView>();
  /** Which shipments' undos are parked. */
  readonly shipmentUndoParked = new Map<number, boolean>();
  /** The notice of the last shipment that undid itself, for the order to send if it closes for it. */
  closingNotice: { type: string; notice: CustomerNotice } | null = null;
  /** Which shipments are parked in needs_attention. */
  readonly shipmentParked = new Map<number, boolean>();
  /** The refund of a share captured for a shipment not yet started (then the shipment owns it). */
  readonly shareUndos = new Map<number, Undo>();
  /** The shipments' workflows, once started. */
  readonly children = new Map<number, ChildWorkflowHandle<Workflow>>();
  /** Shipments' reports not yet applied to the view. */
  readonly reports: ShipmentReport[] = [];
  /** A cancel reached every shipment still in a warehouse, and some had already left: the rest goes on. */
  cancelSettled = false;

  /** Asks every started shipment to cancel (those that left ignore it; those that ended cannot hear it). */
  async cancelShipments(): Promise<void> {
    if (!this.cancelRequest) return;
    for (const n of this.children.keys()) await this.signalShipment(n, cancelShipmentSignal, this.cancelRequest);
  }

  /**
   * Signals shipment n's workflow. One that has ended (its parcel delivered or returned) has nothing
   * left to hear: a late carrier scan, a cancel or a retry for it is dropped, not a failed workflow
   * task (which left orders stuck in `delivered`, found by the chaos suite).
   */
  async signalShipment<T extends unknown[]>(n: number, signal: SignalDefinition<T>, ...args: T): Promise<void> {
    const child = this.children.get(n);
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

  /** The units the customer received: every line (old shape), or the delivered shipments' units. */
  deliveredLines(): PricedLine[] {
    if (!this.shipmentsShape) return this.lines;
    const delivered = new Map<string, number>();
    for (const s of this.view.shipments)
      if (s.status === 'delivered')
        for (const item of s.items) delivered.set(item.sku, (delivered.get(item.sku) ?? 0) + item.quantity);
    return this.lines
      .filter((line) => delivered.has(line.sku))
      .map((line) => ({ ...line, quantity: delivered.get(line.sku)! }));
  }

  /**
   * Refunds up to `amount` (a return's refund) and answers what was refunded: from the order's one
   * capture (old shape), this shipment's capture, or the order's shipments' captures in turn, each
   * under `refund:<reason>@<n>`.
   */
  async refund(reason: string, amount: number): Promise<number> {
    if (!this.shipmentsShape) return (await mustComplete.refundPayment({ ...this.subject, reason, amount })).refunded;
    let refunded = 0;
    for (const [shipment, payment] of [...this.shipmentPayments].sort(([a], [b]) => a - b)) {
      const left = Math.min(amount - refunded, payment.captured - payment.refunded);
      if (left <= 0) continue;
      const paid = await mustComplete.refundPayment({ orderId: this.orderId, shipment, reason, amount: left });
      this.shipmentPayments.set(shipment, { ...payment, refunded: payment.refunded + paid.refunded });
      refunded += paid.refunded;
    }
    return refunded;
  }

  /** Tells the order's workflow where this shipment is (lean: with the next report sent, before a wait). */
  async report(type: string, detail?: string, notice?: CustomerNotice): Promise<void> {
    const { asShipment } = this;
    if (!asShipment) return;
    const report = this.reportOf(asShipment, type, detail, notice);
    if (asShipment.alone) return void this.heldReports.push(report);
    await getExternalWorkflowHandle(asShipment.parentWorkflowId).signal(shipmentReportSignal, report);
  }

  private reportOf(
    asShipment: ShipmentWorkflowInput,
    type: string,
    detail?: string,
    notice?: CustomerNotice,
  ): ShipmentReport {
    return {
      shipment: asShipment.shipment,
      type,
      ...(detail ? { detail } : {}),
      summary: this.shipmentSummary(),
      payment: this.view.payment,
      attention: this.view.attention,
      parked: this.parked,
      undoParked: this.undoParked,
      returns: this.view.returns,
      closing: this.closing,
      deliveryAttempts: this.view.deliveryAttempts,
      leftWarehouse: this.leftWarehouse,
      closed: this.closed,
      ...(notice ? { notice } : {}),
    };
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
