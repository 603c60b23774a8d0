import {
  ActivityCancellationType,
  ActivityFailure,
  ApplicationFailure,
  CancellationScope,
  condition,
  isCancellation,
  log,
  proxyActivities,
  setHandler,
  sleep,
  upsertSearchAttributes,
} from '@temporalio/workflow';
import type { OrderActivities } from '../activities/index.js';
import type { NotificationKind } from '../activities/notifications.js';
import { cancellationRefusal } from '../domain/cancellation.js';
import { addDuration, durationMs } from '../domain/durations.js';
import { FailureType } from '../domain/errors.js';
import { packTaskId, pickTaskId } from '../domain/ids.js';
import {
  cancelOrderUpdate,
  carrierEventSignal,
  orderViewQuery,
  retryUpdate,
  stockArrivedSignal,
  warehouseEventSignal,
} from '../domain/messages.js';
import { initialOrderView, type OrderView, type OrderWorkflowInput, type PricedLine } from '../domain/order.js';
import { BOXES, chooseBox, packedWeightGrams, weightWithinTolerance } from '../domain/packaging.js';
import type { Actor, CarrierEvent, WarehouseEvent } from '../domain/schemas.js';
import { OrderStatusAttribute } from '../domain/search-attributes.js';
import { SHIPPING_PROGRESS, type OrderStatus } from '../domain/statuses.js';

/**
 * Forward steps retry transient failures with backoff, but not forever: a step still failing after
 * its attempts parks the order in needs_attention until an operator retries it. A cancelled step
 * waits for its activity to finish or acknowledge, so no effect lands after its undo ran.
 */
const steps = proxyActivities<OrderActivities>({
  startToCloseTimeout: '1 minute',
  retry: { initialInterval: '1 second', backoffCoefficient: 2, maximumInterval: '1 minute', maximumAttempts: 10 },
  cancellationType: ActivityCancellationType.WAIT_CANCELLATION_COMPLETED,
});

/** Undos and bookkeeping must happen eventually: they retry until they succeed. */
const mustComplete = proxyActivities<OrderActivities>({
  startToCloseTimeout: '1 minute',
  retry: { initialInterval: '1 second', backoffCoefficient: 2, maximumInterval: '5 minutes' },
});

function failureType(error: unknown): string | undefined {
  return error instanceof ActivityFailure && error.cause instanceof ApplicationFailure ? (error.cause.type ?? undefined) : undefined;
}

function failureMessage(error: unknown): string {
  return error instanceof ActivityFailure ? (error.cause?.message ?? error.message) : String(error);
}

function formatMoney(minor: number, currency: string): string {
  return `${(minor / 100).toFixed(2)} ${currency}`;
}

interface CustomerNotice {
  kind: NotificationKind;
  subject: string;
  body: string;
}

/**
 * Unwinds the forward path when the order cannot or must not go on: a cancel, a decline, no stock.
 * Internal control flow only: the workflow always catches it and closes the order.
 */
class OrderClosing extends Error {
  constructor(
    readonly status: 'cancelled' | 'rejected' | 'payment_failed',
    readonly type: string,
    readonly detail: string,
    readonly notice: CustomerNotice,
  ) {
    super(detail);
  }
}

/**
 * One e-commerce order, from receipt to the end of its return window. The workflow is the source
 * of truth while the order runs; every status change is written to the read model and the
 * `OrderStatus` search attribute, and every wait is bounded by a timer. Each side effect registers
 * its undo first; closing early runs the undos in reverse.
 */
export async function orderWorkflow(input: OrderWorkflowInput): Promise<OrderView> {
  const { request, policy } = input;
  const { orderId } = request;
  const view = initialOrderView(input);
  const warehouseEvents = new Map<string, WarehouseEvent>();
  const carrierEvents: CarrierEvent[] = [];
  const undo: { name: string; run: () => Promise<string | null> }[] = [];

  let seq = 0;
  let lines: PricedLine[] = [];
  let round = 0;
  let captured = false;
  let leftWarehouse = false;
  let closing = false;
  let closed = false;
  let cancelRequest: { reason: string; requestedBy: Actor } | null = null;
  let retryRequested = false;
  let parked = false;
  let stockArrived = false;
  let activeStep: CancellationScope | null = null;

  setHandler(orderViewQuery, () => view);
  setHandler(warehouseEventSignal, (event) => {
    if (event.orderId === orderId) warehouseEvents.set(event.taskId, event);
  });
  setHandler(carrierEventSignal, (event) => void carrierEvents.push(event));
  setHandler(stockArrivedSignal, () => {
    stockArrived = true;
  });
  setHandler(
    cancelOrderUpdate,
    async (cancel) => {
      cancelRequest ??= cancel;
      // A step in flight stops; its activity finishes or acknowledges before the undos run.
      activeStep?.cancel();
      await condition(() => closed);
      if (view.status !== 'cancelled') throw ApplicationFailure.nonRetryable(`order closed as ${view.status}`, FailureType.OrderClosed);
      return view;
    },
    {
      validator: ({ requestedBy }) => {
        // A cancel already under way: this one waits for it and gets the same answer.
        if (cancelRequest && !closed) return;
        const refusal = cancellationRefusal({ status: view.status, captured, leftWarehouse, closing }, requestedBy);
        if (refusal) throw ApplicationFailure.nonRetryable(refusal.message, refusal.failureType);
      },
    },
  );
  setHandler(
    retryUpdate,
    async ({ requestedBy }) => {
      log.info('operator retries the parked step', { orderId, by: requestedBy.id });
      retryRequested = true;
      await condition(() => !parked);
      return view;
    },
    {
      validator: (_request) => {
        if (!parked) throw ApplicationFailure.nonRetryable(`order is ${view.status}, not parked in needs_attention`, FailureType.NothingToRetry);
      },
    },
  );

  await mustComplete.recordOrderUpdate({ order: input, view });
  try {
    await fulfil();
  } catch (error) {
    if (!(error instanceof OrderClosing)) throw error;
    await CancellationScope.nonCancellable(() => close(error));
  }
  return view;

  /** Records a milestone: timeline, status, search attribute, read model. */
  async function record(type: string, status: OrderStatus = view.status, detail?: string): Promise<void> {
    seq += 1;
    view.status = status;
    view.timeline.push({ seq, at: new Date().toISOString(), type, status, ...(detail ? { detail } : {}) });
    upsertSearchAttributes([{ key: OrderStatusAttribute, value: status }]);
    await mustComplete.recordOrderUpdate({ order: input, view });
  }

  async function notify(notice: CustomerNotice): Promise<void> {
    await mustComplete.notifyCustomer({ orderId, kind: notice.kind, recipient: request.customer.email, subject: notice.subject, body: notice.body });
  }

  /** Stops the forward path here if someone cancelled the order. */
  function checkpoint(): void {
    if (!cancelRequest) return;
    throw new OrderClosing('cancelled', 'order_cancelled', cancelRequest.reason, {
      kind: 'cancelled',
      subject: `Order ${orderId} was cancelled`,
      body: captured ? 'Your order was cancelled and your payment refunded.' : 'Your order was cancelled. Nothing was charged.',
    });
  }

  /**
   * Runs a forward step. Business failures named in `expected` go to the caller; any other failure
   * that outlived its retries parks the order until an operator retries (or someone cancels).
   */
  async function runStep<T>(name: string, call: () => Promise<T>, expected: string[] = []): Promise<T> {
    for (;;) {
      checkpoint();
      const scope = new CancellationScope();
      activeStep = scope;
      try {
        return await scope.run(call);
      } catch (error) {
        if (isCancellation(error)) checkpoint();
        if (!(error instanceof ActivityFailure)) throw error;
        const type = failureType(error);
        if (type && expected.includes(type)) throw error;
        await park(`${name} keeps failing: ${failureMessage(error)}`);
      } finally {
        activeStep = null;
      }
    }
  }

  /**
   * Parks the order in needs_attention until an operator retries (returns 'retry') or `resumeWhen`
   * turns true by itself (returns 'resumed'); a cancel still goes through.
   */
  async function park(reason: string, resumeWhen: () => boolean = () => false): Promise<'retry' | 'resumed'> {
    const previous = view.status;
    parked = true;
    retryRequested = false;
    view.attention = reason;
    // Operators find parked orders by search attribute; the customer is not bothered with it.
    log.warn('order needs attention', { orderId, reason });
    await record('needs_attention', 'needs_attention', reason);
    let resumed = false;
    await condition(() => {
      resumed ||= resumeWhen();
      return resumed || retryRequested || cancelRequest !== null;
    });
    parked = false;
    checkpoint();
    view.attention = null;
    const how = resumed ? 'resumed' : 'retry';
    await record(how === 'retry' ? 'step_retried' : 'step_resumed', previous);
    return how;
  }

  async function fulfil(): Promise<void> {
    const quote = await runStep('price the order', () => steps.quoteOrder({ items: request.items, shippingSpeed: request.shippingSpeed }), [
      FailureType.UnknownSku,
    ]).catch((error: unknown) => {
      if (failureType(error) !== FailureType.UnknownSku) throw error;
      throw new OrderClosing('rejected', 'order_rejected', failureMessage(error), {
        kind: 'rejected',
        subject: `Order ${orderId} could not be accepted`,
        body: 'An item in your order is no longer sold. Nothing was charged.',
      });
    });
    lines = quote.lines;
    view.items = lines.map(({ sku, name, quantity, unitPrice }) => ({ sku, name, quantity, unitPrice }));
    view.totals = quote.totals;
    const totals = quote.totals;

    undo.push({ name: 'release the reservation', run: async () => (await mustComplete.releaseStock({ orderId }), null) });
    await reserve();

    undo.push({
      name: 'void the authorization',
      run: async () => {
        const { voided } = await mustComplete.voidPayment({ orderId });
        if (voided === 0) return null;
        view.payment = { ...view.payment, status: 'voided' };
        return `voided ${formatMoney(voided, totals.currency)}`;
      },
    });
    await runStep('authorize the payment', () => steps.authorizePayment({ orderId, token: request.payment.token, amount: totals.total, currency: totals.currency }), [
      FailureType.PaymentDeclined,
    ]).catch((error: unknown) => {
      if (failureType(error) !== FailureType.PaymentDeclined) throw error;
      view.payment = { ...view.payment, status: 'declined' };
      throw new OrderClosing('payment_failed', 'payment_declined', failureMessage(error), {
        kind: 'payment_failed',
        subject: `Payment for order ${orderId} was declined`,
        body: 'Your payment was declined, so the order was not placed. Nothing was charged.',
      });
    });
    view.payment = { ...view.payment, status: 'authorized', authorized: totals.total };
    await record('order_confirmed', 'confirmed');
    await notify({
      kind: 'confirmation',
      subject: `Order ${orderId} confirmed`,
      body: `Thank you, ${request.customer.name}. Total ${formatMoney(totals.total, totals.currency)}. You can cancel free of charge until ${view.cancellableUntil}.`,
    });

    // The free-cancel buffer: nothing is charged or picked before it ends.
    const bufferLeft = Date.parse(view.cancellableUntil) - Date.now();
    if (bufferLeft > 0) await condition(() => cancelRequest !== null, bufferLeft, { summary: 'cancellation buffer' });

    undo.push({
      name: 'refund the capture',
      run: async () => {
        const { refunded } = await mustComplete.refundPayment({ orderId, reason: 'cancel' });
        if (refunded === 0) return null;
        view.payment = { ...view.payment, status: 'refunded', refunded: view.payment.refunded + refunded };
        return `refunded ${formatMoney(refunded, totals.currency)}`;
      },
    });
    await runStep('capture the payment', () => steps.capturePayment({ orderId, amount: totals.total, currency: totals.currency }));
    captured = true;
    view.payment = { ...view.payment, status: 'captured', captured: totals.total };
    await record('payment_captured', 'processing');

    const requestedTasks: string[] = [];
    undo.push({
      name: 'withdraw open warehouse tasks',
      run: async () => {
        for (const taskId of requestedTasks) await mustComplete.cancelWarehouseTask({ taskId });
        return null;
      },
    });
    const warehouseLines = () => lines.map(({ sku, quantity }) => ({ sku, quantity }));

    // A short pick writes the missing units off and starts over with a new reservation.
    for (;;) {
      const warehouseId = view.warehouseId!;
      const pick = await warehouseTask('pick', requestedTasks, (taskId) =>
        steps.requestPick({ taskId, orderId, warehouseId, lines: warehouseLines() }),
      );
      if (!pick.shortages?.length) break;
      const shortages = pick.shortages;
      await runStep('record the short pick', () => steps.recordShortPick({ orderId, shortages }));
      await runStep('release the rest of the pick', () => steps.releaseStock({ orderId }));
      await record('short_pick', 'processing', shortages.map((s) => `${s.quantity} × ${s.sku} ${s.reason} at ${warehouseId}`).join('; '));
      await reserve();
    }

    let packRequested = false;
    undo.push({
      name: 'put picked units back on the shelf',
      run: async () => {
        await mustComplete.requestReturnToShelf({ taskId: `${orderId}-reshelve`, orderId, warehouseId: view.warehouseId!, lines: warehouseLines(), unpack: packRequested });
        await mustComplete.returnPickedToShelf({ orderId });
        return packRequested ? 'unpacked and re-shelved' : 're-shelved';
      },
    });
    await runStep('record the pick', () => steps.recordPick({ orderId }));
    await record('picked', 'processing');

    const warehouseId = view.warehouseId!;
    const box = chooseBox(lines) ?? BOXES[BOXES.length - 1]!;
    const expectedWeightGrams = packedWeightGrams(lines, box);
    if (!chooseBox(lines)) log.warn('items exceed the standard boxes; the warehouse packs by hand', { orderId, box: box.code });
    const packed = await warehouseTask(
      'pack',
      requestedTasks,
      (taskId) => {
        packRequested = true;
        return steps.requestPack({ taskId, orderId, warehouseId, lines: warehouseLines(), box, expectedWeightGrams });
      },
      (event) => event.measuredWeightGrams === undefined || weightWithinTolerance(expectedWeightGrams, event.measuredWeightGrams),
    );
    const weightGrams = packed.measuredWeightGrams ?? expectedWeightGrams;
    await record('packed', 'processing', `box ${box.code}, ${weightGrams} g`);

    undo.push({
      name: 'void the label',
      run: async () => {
        const { voided } = await mustComplete.voidLabel({ orderId });
        if (!voided) return null;
        view.shipment = null;
        return `voided label ${voided}`;
      },
    });
    const shipment = await runStep('buy the label', () =>
      steps.buyLabel({ orderId, warehouseId, shippingAddress: request.shippingAddress, shippingSpeed: request.shippingSpeed, box, weightGrams }),
    );
    view.shipment = shipment;
    await record('label_created', 'processing', `${shipment.carrier} ${shipment.service} ${shipment.trackingNumber}`);

    // The point of no return: once the carrier has the parcel, only a return helps.
    checkpoint();
    leftWarehouse = true;
    await CancellationScope.nonCancellable(() =>
      mustComplete.handOverToCarrier({ carrier: shipment.carrier, service: shipment.service, trackingNumber: shipment.trackingNumber }),
    );
    view.shipment = { ...shipment, status: 'shipped' };
    await record('shipped', 'shipped', `${shipment.carrier} ${shipment.trackingNumber}`);
    await notify({
      kind: 'shipped',
      subject: `Order ${orderId} has shipped`,
      body: `Your parcel is on its way with ${shipment.carrier} (${shipment.service}), tracking number ${shipment.trackingNumber}, expected by ${shipment.promisedBy}.`,
    });

    await trackUntilDelivered();

    view.returnableUntil = addDuration(new Date().toISOString(), policy.returnWindow);
    await record('delivered', 'delivered');
    await notify({ kind: 'delivered', subject: `Order ${orderId} was delivered`, body: `Your order was delivered. You can return items until ${view.returnableUntil}.` });

    await sleep(durationMs(policy.returnWindow), { summary: 'return window' });
    await record('order_completed', 'completed');
  }

  /**
   * Reserves the order's lines in a new round. With no stock anywhere, the backorder policy decides:
   * reject at once, or wait for a restock until the deadline and then cancel, nothing owed.
   */
  async function reserve(): Promise<void> {
    round += 1;
    const reservationRound = round;
    const resumeAs = view.status;
    let deadline: number | null = null;
    for (;;) {
      try {
        const { warehouseId } = await runStep(
          'reserve stock',
          () => steps.reserveStock({ orderId, round: reservationRound, lines: lines.map(({ sku, quantity }) => ({ sku, quantity })), shippingAddress: request.shippingAddress }),
          [FailureType.OutOfStock],
        );
        view.warehouseId = warehouseId;
        await record('stock_reserved', resumeAs, `at ${warehouseId}`);
        return;
      } catch (error) {
        if (failureType(error) !== FailureType.OutOfStock) throw error;
      }
      if ((request.backorderPolicy ?? policy.backorderPolicy) === 'reject') {
        throw new OrderClosing('rejected', 'order_rejected', 'not enough stock at any warehouse', {
          kind: 'rejected',
          subject: `Order ${orderId} could not be fulfilled`,
          body: `We do not have enough stock to ship your order.${captured ? ' Your payment was refunded.' : ' Nothing was charged.'}`,
        });
      }
      if (deadline === null) {
        deadline = Date.now() + durationMs(policy.backorderWait);
        const until = new Date(deadline).toISOString();
        await record('backordered', 'backordered', `waiting for stock until ${until}`);
        await notify({
          kind: 'backordered',
          subject: `Order ${orderId} is backordered`,
          body: `Part of your order is out of stock. We will ship as soon as it arrives, or cancel the order ${captured ? 'and refund you ' : ''}if it has not arrived by ${until}.`,
        });
      }
      stockArrived = false;
      const arrived = await condition(() => stockArrived || cancelRequest !== null, Math.max(1, deadline - Date.now()), { summary: 'backorder deadline' });
      checkpoint();
      if (!arrived) {
        throw new OrderClosing('cancelled', 'backorder_expired', `no stock arrived within ${policy.backorderWait}`, {
          kind: 'backorder_expired',
          subject: `Order ${orderId} was cancelled`,
          body: `The items did not come back in stock in time, so we cancelled your order.${captured ? ' Your payment was refunded.' : ' Nothing was charged.'}`,
        });
      }
    }
  }

  /**
   * Asks the warehouse for a task and waits for it to report the task done, within the SLA. A task
   * not done in time (or done wrong, per `accept`) is asked for again; after the last attempt the
   * order is parked until the warehouse reports any attempt done or an operator retries.
   */
  async function warehouseTask(
    kind: 'pick' | 'pack',
    requestedTasks: string[],
    ask: (taskId: string) => Promise<void>,
    accept: (event: WarehouseEvent) => boolean = () => true,
  ): Promise<WarehouseEvent> {
    const taskPrefix = `${kind === 'pick' ? pickTaskId(orderId) : packTaskId(orderId)}-`;
    const completedType = kind === 'pick' ? 'pick_completed' : 'pack_completed';
    // Only answers to the tasks asked for here count: an earlier short pick's answer is settled.
    const askedHere: string[] = [];
    const seen = new Set<string>();
    let accepted: WarehouseEvent | undefined;
    const done = () => {
      for (const [taskId, event] of warehouseEvents) {
        if (!askedHere.includes(taskId) || event.type !== completedType || seen.has(taskId)) continue;
        seen.add(taskId);
        if (accept(event)) {
          accepted = event;
          return true;
        }
        log.warn('warehouse task done wrong; asking again', { orderId, taskId });
      }
      return false;
    };
    for (;;) {
      for (let attempt = 1; attempt <= policy.warehouseTaskAttempts; attempt++) {
        const taskId = `${taskPrefix}${requestedTasks.filter((id) => id.startsWith(taskPrefix)).length + 1}`;
        requestedTasks.push(taskId);
        askedHere.push(taskId);
        await runStep(`ask the warehouse to ${kind}`, () => ask(taskId));
        const finished = await condition(() => done() || cancelRequest !== null, durationMs(policy.warehouseTaskSla), {
          summary: `${kind} SLA (attempt ${attempt})`,
        });
        checkpoint();
        if (finished) return accepted!;
        const rejected = seen.size > 0 && !accepted;
        await record(rejected ? `${kind}_rejected` : `${kind}_late`, view.status, rejected ? 'done, but it failed the check' : `${taskId} not done within ${policy.warehouseTaskSla}`);
        seen.clear();
      }
      const how = await park(`the warehouse did not complete the ${kind} after ${policy.warehouseTaskAttempts} attempts`, done);
      if (how === 'resumed') return accepted!;
    }
  }

  /** Closes the order early: undoes what was done, newest first, then records the outcome. */
  async function close(outcome: OrderClosing): Promise<void> {
    closing = true;
    const undone: string[] = [];
    for (const step of undo.reverse()) {
      const what = await step.run();
      if (what) undone.push(what);
    }
    if (outcome.status === 'cancelled' && cancelRequest) {
      view.cancellation = { reason: cancelRequest.reason, requestedBy: cancelRequest.requestedBy.id, free: !captured };
    }
    view.attention = null;
    await record(outcome.type, outcome.status, [outcome.detail, ...undone].join('; '));
    await notify(outcome.notice);
    closed = true;
  }

  /**
   * Applies carrier scans as they come, in any order and any number of times: the status only moves
   * forward. Silence past the promise plus the grace period is a late delivery: the customer hears
   * it from us first, and the order needs a human while it still waits for the carrier.
   */
  async function trackUntilDelivered(): Promise<void> {
    const trackingNumber = view.shipment!.trackingNumber;
    const deadline = Date.parse(addDuration(view.shipment!.promisedBy, policy.deliveryGrace));
    let late = false;
    const hasEvents = () => carrierEvents.length > 0;
    for (;;) {
      let arrived = true;
      if (late) await condition(hasEvents);
      else if (deadline > Date.now()) arrived = await condition(hasEvents, deadline - Date.now(), { summary: 'delivery promise' });
      else arrived = hasEvents();
      if (!arrived) {
        late = true;
        await notify({
          kind: 'delayed',
          subject: `Order ${orderId} is running late`,
          body: `Your parcel ${trackingNumber} has not arrived by the promised date. We are on it with the carrier.`,
        });
        view.attention = `carrier has not delivered ${trackingNumber} by the promise plus ${policy.deliveryGrace}`;
        await record('delivery_late', 'needs_attention', view.attention);
        continue;
      }
      for (const event of carrierEvents.splice(0)) {
        if (event.trackingNumber !== trackingNumber) continue;
        const type = event.type;
        if (type !== 'in_transit' && type !== 'out_for_delivery' && type !== 'delivered') continue;
        const current = SHIPPING_PROGRESS.indexOf(view.shipment!.status);
        const next = SHIPPING_PROGRESS.indexOf(type);
        if (next <= current) continue;
        view.shipment = { ...view.shipment!, status: type };
        if (type === 'delivered') {
          view.attention = null;
          return;
        }
        await record(type, late ? 'needs_attention' : type, event.location);
        if (type === 'out_for_delivery') {
          await notify({ kind: 'out_for_delivery', subject: `Order ${orderId} is out for delivery`, body: 'Your parcel will arrive today.' });
        }
      }
    }
  }
}
