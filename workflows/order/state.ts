import {
  ActivityFailure,
  CancellationScope,
  condition,
  isCancellation,
  log,
  setCurrentDetails,
  upsertSearchAttributes,
} from '@temporalio/workflow';
import type { UndoPhase } from '../../domain/compensation.js';
import {
  initialOrderView,
  type OrderView,
  type OrderWorkflowInput,
  type PricedLine,
  type Totals,
} from '../../domain/order.js';
import { orderCurrentDetails } from '../../domain/operator-view.js';
import type { Actor, CarrierEvent, ReturnReceipt, WarehouseEvent } from '../../domain/schemas.js';
import { OrderStatusAttribute } from '../../domain/search-attributes.js';
import type { OrderStatus } from '../../domain/statuses.js';
import { type CustomerNotice, failureMessage, failureType, OrderClosing } from '../outcomes.js';
import { mustComplete, type steps } from '../proxies.js';

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

  constructor(readonly input: OrderWorkflowInput) {
    this.request = input.request;
    this.policy = input.policy;
    this.orderId = input.request.orderId;
    this.view = initialOrderView(input);
    setCurrentDetails(orderCurrentDetails(this.view, null));
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
    upsertSearchAttributes([{ key: OrderStatusAttribute, value: status }]);
    // What Temporal Web shows as the order's current details; no command, so no patch.
    setCurrentDetails(orderCurrentDetails(this.view, this.lastProblem));
    await mustComplete.recordOrderUpdate({ order: this.input, view: this.view });
  }

  async notify(notice: CustomerNotice): Promise<void> {
    await mustComplete.notifyCustomer({ orderId: this.orderId, recipient: this.request.customer.email, ...notice });
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
    await condition(() => {
      resumed ||= resumeWhen();
      return resumed || this.retryRequested || this.cancelRequest !== null;
    });
    this.parked = false;
    this.checkpoint();
    this.view.attention = null;
    const how = resumed ? 'resumed' : 'retry';
    await this.record(how === 'retry' ? 'step_retried' : 'step_resumed', previous);
    return how;
  }
}
