import {
  condition,
  getExternalWorkflowHandle,
  setCurrentDetails,
  upsertSearchAttributes,
  workflowInfo,
} from '@temporalio/workflow';
import { shipmentReportSignal } from '../../domain/messages.js';
import {
  initialOrderView,
  type OrderShipment,
  type OrderView,
  type OrderWorkflowInput,
  type ShipmentReport,
  type ShipmentWorkflowInput,
} from '../../domain/order.js';
import { orderCurrentDetails } from '../../domain/operator-view.js';
import { OrderStatusAttribute } from '../../domain/search-attributes.js';
import type { OrderStatus } from '../../domain/statuses.js';
import type { CustomerNotice } from '../outcomes.js';
import { localBookkeeping, mustComplete } from '../proxies.js';
import type { ReadModelWrite } from '../../activities/read-model.js';
import { HeldWrite, type OrderInProcess } from './held-write.js';
import { type OrderShape, orderShape } from './shape.js';

/** Where a shipment stands besides its view, as its reports tell its order. */
export type ShipmentFlags = Pick<ShipmentReport, 'parked' | 'undoParked' | 'closing' | 'leftWarehouse' | 'closed'>;

/**
 * What an order (or one of its shipments) tells the world: its view and timeline, the read model,
 * the `OrderStatus` search attribute, Temporal Web's current details, the customer's notices, and
 * a shipment's reports to its order. Lean orders hold all of it and write it in one go before a
 * wait; older ones write each milestone as it happens. The order's progress (state.ts) extends it.
 */
export abstract class OrderRecord implements OrderShape {
  readonly orderId: string;
  readonly request: OrderWorkflowInput['request'];
  readonly policy: OrderWorkflowInput['policy'];
  readonly view: OrderView;
  /**
   * Set when this state is shipment n of an order (workflows/shipment.ts): its milestones and
   * notices go to the order's workflow, its effects are keyed by the shipment.
   */
  readonly asShipment: ShipmentWorkflowInput | null;
  /** This shipment's milestones, for the order view's shipment timeline. */
  readonly shipmentTimeline: OrderShipment['timeline'] = [];
  /** Why the order last parked, kept after it resumed: Temporal Web's current details show it. */
  lastProblem: string | null = null;

  private seq = 0;

  /** What the read model does not have yet (lean): the view's changes, notices, withdrawals. */
  readonly held: HeldWrite;
  /** The `OrderStatus` search attribute as last set (lean: upserted with the view, when it changed). */
  private upsertedStatus: string | null;
  /** A shipment's reports not yet sent to its order (lean). */
  private readonly heldReports: ShipmentReport[] = [];
  // How it runs, decided at its start (shape.ts says what each is).
  readonly lean: boolean;
  readonly feedbackInOutbox: boolean;
  readonly loneShipmentInOrder: boolean;
  readonly oneTimerPerDeadline: boolean;
  readonly sharedTimerAndWrites: boolean;
  /** When the scheduled feedback request goes out (feedbackInOutbox; null while none is scheduled). */
  feedbackDueAt: number | null = null;

  /** @param toOrder a shipment in its order's workflow reaches its order in process (Patch.LoneShipmentInOrder). */
  constructor(
    readonly input: OrderWorkflowInput,
    asShipment: ShipmentWorkflowInput | null = null,
    private readonly toOrder: OrderInProcess | null = null,
  ) {
    const shape = orderShape(asShipment);
    this.lean = shape.lean;
    this.feedbackInOutbox = shape.feedbackInOutbox;
    this.loneShipmentInOrder = shape.loneShipmentInOrder;
    this.oneTimerPerDeadline = shape.oneTimerPerDeadline;
    this.sharedTimerAndWrites = shape.sharedTimerAndWrites;
    this.upsertedStatus = workflowInfo().typedSearchAttributes.get(OrderStatusAttribute) ?? null;
    this.request = input.request;
    this.policy = input.policy;
    this.orderId = input.request.orderId;
    this.view = initialOrderView(input);
    this.held = new HeldWrite(input, this.view);
    this.asShipment = asShipment;
    this.showCurrentDetails();
  }

  /** A shipment run inside its order's workflow: the order's workflow is where it reports and waits. */
  get inOrderWorkflow(): boolean {
    return this.toOrder !== null;
  }

  /** What Temporal Web shows as this workflow's current details (the order's, in the order's workflow). */
  private showCurrentDetails(): void {
    // No command, so no patch; a shipment in its order's workflow leaves the order's details alone.
    if (!this.inOrderWorkflow) setCurrentDetails(orderCurrentDetails(this.view, this.lastProblem));
  }

  /** This shipment as the order view shows it. */
  abstract shipmentSummary(): OrderShipment;
  /** The view's shipments as this order knows them itself, or null when its shipments' workflows report them. */
  protected abstract ownShipments(): OrderShipment[] | null;
  /** Where this shipment stands besides its view (for its reports). */
  protected abstract shipmentFlags(): ShipmentFlags;

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
    this.showCurrentDetails();
    if (this.asShipment) {
      this.shipmentTimeline.push({ at: new Date().toISOString(), type, ...(detail ? { detail } : {}) });
      await this.report(type, detail);
      return;
    }
    // An order of the old shape shows its one parcel as the view's one shipment.
    const own = this.ownShipments();
    if (own) this.view.shipments = own;
    if (!this.lean) {
      upsertSearchAttributes([{ key: OrderStatusAttribute, value: status }]);
      await mustComplete.recordOrderUpdate({ order: this.input, view: this.view });
      return;
    }
    this.held.unwritten = true;
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
    const { held } = this;
    const saved = { view: JSON.stringify(this.view), notices: held.notices.length };
    apply();
    const notices = held.notices.splice(0);
    const unwritten = held.unwritten;
    held.unwritten = false;
    try {
      return await call({ order: this.input, view: this.view, ...(notices.length ? { notices } : {}) });
    } catch (error) {
      const view = JSON.parse(saved.view) as OrderView;
      for (const key of Object.keys(this.view)) delete (this.view as unknown as Record<string, unknown>)[key];
      Object.assign(this.view, view);
      // The sequence is not taken back: an attempt whose write landed before the step failed keeps
      // its event, and the next milestone must not reuse its number (events are written once per seq).
      held.notices.push(...notices.slice(0, saved.notices));
      held.unwritten = unwritten;
      revert();
      this.showCurrentDetails();
      throw error;
    }
  }

  /** Lean, inside `stepWithMilestone`'s `apply`: records a milestone of the order (no await: nothing is written here). */
  hold(type: string, status: OrderStatus, detail?: string, notice?: CustomerNotice): void {
    void this.record(type, status, detail);
    if (notice) this.held.notices.push(notice);
  }

  /** Marks the view as not yet in the read model (lean): the next flush writes it. */
  holdView(): void {
    this.held.unwritten = true;
  }

  /** A shipment's reports not yet sent: they go back to the order with its result. */
  takeHeldReports(): ShipmentReport[] {
    return this.heldReports.splice(0);
  }

  async notify(notice: CustomerNotice): Promise<void> {
    // The order owns the customer: a shipment asks it to tell them.
    if (this.asShipment) return this.report('notice', undefined, notice);
    // Lean: into the outbox in the same transaction as the next view (activities/read-model.ts).
    if (this.lean) return void this.held.notices.push(notice);
    await mustComplete.notifyCustomer({ orderId: this.orderId, recipient: this.request.customer.email, ...notice });
  }

  /** Takes back a scheduled notice that has not gone out yet, with the next write (feedbackInOutbox). */
  withdrawNotice(key: string): void {
    this.held.withdrawals.push(key);
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
      if (this.toOrder) {
        this.toOrder.take(this.heldReports.splice(0));
        // Since Patch.SharedTimerAndWrites the order applies them at once and writes here.
        if (this.sharedTimerAndWrites) await this.toOrder.flush();
        return;
      }
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
    const write = this.held.take();
    if (!write) return;
    // A local activity: one marker in the task that goes on to wait, not three events and a task of its own.
    if (this.feedbackInOutbox) await localBookkeeping.recordOrderUpdate(write);
    else await mustComplete.recordOrderUpdate(write);
  }

  /**
   * Patch.SharedTimerAndWrites, a shipment inside its order's workflow: what the order holds (with
   * this shipment's reports so far) rides on this step's activity, which writes it once its effect
   * has landed (activities/read-model.ts, `withReadModelWrite`), so the wait after the step has
   * nothing left to write. A step that fails holds it again. Elsewhere the step runs as it is.
   */
  async carryingHeld<T>(call: (held: { readModel?: ReadModelWrite }) => Promise<T>): Promise<T> {
    const { toOrder } = this;
    if (!toOrder || !this.sharedTimerAndWrites) return call({});
    toOrder.take(this.heldReports.splice(0));
    const readModel = toOrder.held.take();
    if (!readModel) return call({});
    try {
      return await call({ readModel });
    } catch (error) {
      toOrder.held.putBack(readModel);
      throw error;
    }
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

  /** Tells the order's workflow where this shipment is (lean: with the next report sent, before a wait). */
  protected async report(type: string, detail?: string, notice?: CustomerNotice): Promise<void> {
    const { asShipment } = this;
    if (!asShipment) return;
    const { parked, undoParked, closing, leftWarehouse, closed } = this.shipmentFlags();
    const report: ShipmentReport = {
      shipment: asShipment.shipment,
      type,
      ...(detail ? { detail } : {}),
      summary: this.shipmentSummary(),
      payment: this.view.payment,
      attention: this.view.attention,
      parked,
      undoParked,
      returns: this.view.returns,
      closing,
      deliveryAttempts: this.view.deliveryAttempts,
      leftWarehouse,
      closed,
      ...(notice ? { notice } : {}),
    };
    if (asShipment.alone) return void this.heldReports.push(report);
    await getExternalWorkflowHandle(asShipment.parentWorkflowId).signal(shipmentReportSignal, report);
  }
}
