import {
  ActivityFailure,
  allHandlersFinished,
  ApplicationFailure,
  CancellationScope,
  CancelledFailure,
  condition,
  isCancellation,
  log,
  patched,
  setHandler,
  upsertSearchAttributes,
} from '@temporalio/workflow';
import { cancellationRefusal, TEMPORAL_OPERATOR } from '../domain/cancellation.js';
import { type UndoPhase, undoSequence } from '../domain/compensation.js';
import { addDuration, durationMs } from '../domain/durations.js';
import { FailureType } from '../domain/errors.js';
import { packTaskId, pickTaskId } from '../domain/ids.js';
import {
  cancelOrderUpdate,
  carrierEventSignal,
  orderViewQuery,
  requestReturnUpdate,
  retryUpdate,
  returnReceivedSignal,
  stockArrivedSignal,
  warehouseEventSignal,
} from '../domain/messages.js';
import { initialOrderView, type OrderView, type OrderWorkflowInput, type PricedLine, type ReturnView } from '../domain/order.js';
import { BOXES, chooseBox, packedWeightGrams, weightWithinTolerance } from '../domain/packaging.js';
import { authorizedUnits, returnRefusal, SELLER_FAULT_REASONS, unitsLeftToReturn } from '../domain/returns.js';
import type { Actor, CarrierEvent, ReturnReceipt, WarehouseEvent } from '../domain/schemas.js';
import { OrderStatusAttribute } from '../domain/search-attributes.js';
import { MAX_DELIVERY_ATTEMPTS, SHIPPING_PROGRESS, type OrderStatus } from '../domain/statuses.js';
import { Patch } from './patches.js';
import { mustComplete, steps } from './proxies.js';
import { type CustomerNotice, failureMessage, failureType, formatMoney, OrderClosing } from './outcomes.js';

/** The undo of one effect: what it is, when it runs (domain/compensation.ts), and how. */
interface Undo {
  name: string;
  phase: UndoPhase;
  /** Undoes with these activities; returns a note for the timeline, or null when there was nothing to undo. */
  run: (activities: typeof steps) => Promise<string | null>;
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
  /** The undo of every effect so far, registered before the effect; `run` gets the activities to undo with. */
  const undo: Undo[] = [];

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
  /** Closing is parked because an undo could not complete: a cancel's caller is answered now. */
  let undoParked = false;
  /** The cancel came from Temporal Web: once undone, the run ends Canceled there too. */
  let cancelledByOperator = false;
  let stockArrived = false;
  let activeStep: CancellationScope | null = null;
  let shipmentNumber = 0;
  let shippingRefunded = false;
  let returnsChanged = false;
  const receipts = new Map<string, ReturnReceipt>();
  /** Every warehouse task asked for, across attempts and shipments: task IDs are never reused. */
  const requestedTasks: string[] = [];

  const releaseUndo: Undo = { name: 'release the reservation', phase: 'reservation', run: async (act) => (await act.releaseStock({ orderId }), null) };
  const refundUndo: Undo = {
    name: 'refund the capture',
    phase: 'money',
    run: async (act) => {
      const { refunded } = await act.refundPayment({ orderId, reason: 'cancel' });
      if (refunded === 0) return null;
      view.payment = { ...view.payment, status: 'refunded' as const, refunded: view.payment.refunded + refunded };
      return `refunded ${formatMoney(refunded, view.totals!.currency)}`;
    },
  };

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
      // Shielded: an operator's Cancel in Temporal Web must not abort this caller's wait.
      await CancellationScope.nonCancellable(() => condition(() => closed || undoParked));
      // An undo that needs a human: the caller learns it now (needs_attention, with the reason).
      if (!closed) return view;
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
  setHandler(returnReceivedSignal, ({ returnId, ...receipt }) => {
    if (!receipts.has(returnId)) receipts.set(returnId, receipt);
  });
  setHandler(
    requestReturnUpdate,
    // Shielded from an operator's Cancel in Temporal Web (refused once delivered anyway).
    (requested) => CancellationScope.nonCancellable(() => authorizeReturn(requested)),
    {
      validator: ({ items }) => {
        const refusal = refusalOf(items);
        if (refusal) throw ApplicationFailure.nonRetryable(refusal, FailureType.ReturnNotAllowed);
      },
    },
  );
  setHandler(
    retryUpdate,
    async ({ requestedBy }) => {
      log.info('operator retries the parked step', { orderId, by: requestedBy.id });
      retryRequested = true;
      await CancellationScope.nonCancellable(() => condition(() => !parked));
      return view;
    },
    {
      validator: (_request) => {
        if (!parked) throw ApplicationFailure.nonRetryable(`order is ${view.status}, not parked in needs_attention`, FailureType.NothingToRetry);
      },
    },
  );

  // Cancel in Temporal Web (or `temporal workflow cancel`) cancels the root scope. The lifecycle runs
  // shielded from it, in a scope of its own, and takes it as an admin's cancel through the API.
  let lifecycle: CancellationScope | undefined;
  let operatorCancelHandled: Promise<void> | undefined;
  void CancellationScope.current().cancelRequested.catch(() => {
    operatorCancelHandled = onOperatorCancel(() => lifecycle?.cancel());
  });
  try {
    await CancellationScope.nonCancellable(async () => {
      lifecycle = new CancellationScope();
      await lifecycle.run(async () => {
        await mustComplete.recordOrderUpdate({ order: input, view });
        await fulfil();
      });
    });
  } catch (error) {
    if (!(error instanceof OrderClosing)) throw error;
    await CancellationScope.nonCancellable(() => close(error));
  }
  // Nothing ends under a caller still waiting for its answer, nor under a note still being written.
  await CancellationScope.nonCancellable(async () => {
    await operatorCancelHandled;
    await condition(allHandlersFinished);
  });
  if (cancelledByOperator && view.status === 'cancelled') throw new CancelledFailure('cancelled by an operator in Temporal Web; every effect was undone');
  return view;

  /**
   * An operator's Cancel follows the API's rules for an admin: before hand-over the order is
   * cancelled with every undo; after it the cancel is refused and the refusal is on the timeline.
   * (Orders whose history has a Cancel from before this rule keep the old behaviour: every step
   * was cancelled and the run ended with nothing undone.)
   */
  async function onOperatorCancel(cancelEverything: () => void): Promise<void> {
    if (!patched(Patch.OperatorCancel)) return cancelEverything();
    if (closed || cancelRequest) return;
    const refusal = cancellationRefusal({ status: view.status, captured, leftWarehouse, closing }, TEMPORAL_OPERATOR);
    if (refusal) {
      log.warn('Cancel in Temporal Web refused', { orderId, reason: refusal.message });
      await CancellationScope.nonCancellable(() => record('cancel_refused', view.status, `Cancel in Temporal Web refused: ${refusal.message}`));
      return;
    }
    cancelledByOperator = true;
    cancelRequest = { reason: 'cancelled in Temporal Web', requestedBy: TEMPORAL_OPERATOR };
    activeStep?.cancel();
  }

  /** Records a milestone: timeline, status, search attribute, read model. */
  async function record(type: string, status: OrderStatus = view.status, detail?: string): Promise<void> {
    seq += 1;
    view.status = status;
    view.timeline.push({ seq, at: new Date().toISOString(), type, status, ...(detail ? { detail } : {}) });
    upsertSearchAttributes([{ key: OrderStatusAttribute, value: status }]);
    await mustComplete.recordOrderUpdate({ order: input, view });
  }

  async function notify(notice: CustomerNotice): Promise<void> {
    await mustComplete.notifyCustomer({ orderId, recipient: request.customer.email, ...notice });
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

    undo.push(releaseUndo);
    await reserve();

    undo.push({
      name: 'void the authorization',
      phase: 'money',
      run: async (act) => {
        const { voided, refunded = 0 } = await act.voidPayment({ orderId });
        // The gateway had captured after all (the capture's answer was lost): that money came back by refund.
        if (refunded > 0) {
          view.payment = { ...view.payment, status: 'refunded', captured: Math.max(view.payment.captured, refunded), refunded: view.payment.refunded + refunded };
          return `refunded ${formatMoney(refunded, totals.currency)}`;
        }
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

    undo.push(refundUndo);
    await runStep('capture the payment', () => steps.capturePayment({ orderId, amount: totals.total, currency: totals.currency }));
    captured = true;
    view.payment = { ...view.payment, status: 'captured', captured: totals.total };
    await record('payment_captured', 'processing');

    await shipFromWarehouse();

    // Once shipped, the only way back is a return: the parcel is followed until it arrives.
    for (;;) {
      const outcome = await trackShipment();
      if (outcome === 'delivered') break;
      if (outcome === 'returned_to_sender') return await parcelReturnedToSender();
      if (policy.deliveryExceptionPolicy === 'refund') {
        throw new OrderClosing('cancelled', 'parcel_lost_refunded', `${view.shipment!.trackingNumber} lost`, {
          kind: 'refund_issued',
          subject: `Order ${orderId}: your refund`,
          body: `Your parcel was lost in transit. We refunded ${formatMoney(totals.total, totals.currency)}.`,
        });
      }
      // Reship from stock: a new reservation, pick, pack and label; the lost units stay off the count.
      view.attention = null;
      await record('reship_started', 'processing', `${view.shipment!.trackingNumber} lost; shipping again`);
      await reserve();
      await shipFromWarehouse();
      await notify({
        kind: 'reshipped',
        about: view.shipment!.shipmentId,
        subject: `Order ${orderId} was shipped again`,
        body: `Your first parcel was lost, so we sent a new one: ${view.shipment!.carrier} ${view.shipment!.trackingNumber}, expected by ${view.shipment!.promisedBy}.`,
      });
    }

    view.returnableUntil = addDuration(new Date().toISOString(), policy.returnWindow);
    await record('delivered', 'delivered');
    await notify({ kind: 'delivered', subject: `Order ${orderId} was delivered`, body: `Your order was delivered. You can return items until ${view.returnableUntil}.` });
    await returnWindow();
  }

  /**
   * Pick, pack, label and hand over one shipment from the reserved warehouse. Until the hand-over
   * every effect has its undo registered; after it, only a refund undoes anything.
   */
  async function shipFromWarehouse(): Promise<void> {
    shipmentNumber += 1;
    const number = shipmentNumber;
    undo.push({
      name: 'withdraw open warehouse tasks',
      phase: 'warehouse_tasks',
      run: async (act) => {
        for (const taskId of requestedTasks) await act.cancelWarehouseTask({ taskId });
        return null;
      },
    });
    const warehouseLines = () => lines.map(({ sku, quantity }) => ({ sku, quantity }));

    // A short pick writes the missing units off and starts over with a new reservation.
    for (;;) {
      const warehouseId = view.warehouseId!;
      const pick = await warehouseTask('pick', (taskId) =>
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
      phase: 'shelf',
      run: async (act) => {
        await act.requestReturnToShelf({ taskId: `${orderId}-reshelve-${number}`, orderId, warehouseId: view.warehouseId!, lines: warehouseLines(), unpack: packRequested });
        await act.returnPickedToShelf({ orderId });
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
      phase: 'label',
      run: async (act) => {
        const { voided } = await act.voidLabel({ orderId, shipmentNumber: number });
        if (!voided) return null;
        view.shipment = null;
        return `voided label ${voided}`;
      },
    });
    const shipment = await runStep('buy the label', () =>
      steps.buyLabel({ orderId, shipmentNumber: number, warehouseId, shippingAddress: request.shippingAddress, shippingSpeed: request.shippingSpeed, box, weightGrams }),
    );
    view.shipment = shipment;
    view.deliveryAttempts = 0;
    await record('label_created', 'processing', `${shipment.carrier} ${shipment.service} ${shipment.trackingNumber}`);

    // The point of no return: once the carrier has the parcel, only a return helps.
    checkpoint();
    leftWarehouse = true;
    await CancellationScope.nonCancellable(async () => {
      await mustComplete.handOverToCarrier({ carrier: shipment.carrier, service: shipment.service, trackingNumber: shipment.trackingNumber });
      await mustComplete.recordShipped({ orderId });
    });
    // What is left to undo is the money (and a reship's reservation); the units are with the carrier.
    undo.splice(0, undo.length, releaseUndo, refundUndo);
    view.shipment = { ...shipment, status: 'shipped' };
    await record('shipped', 'shipped', `${shipment.carrier} ${shipment.trackingNumber}`);
    await notify({
      kind: 'shipped',
      about: shipment.shipmentId,
      subject: `Order ${orderId} has shipped`,
      body: `Your parcel is on its way with ${shipment.carrier} (${shipment.service}), tracking number ${shipment.trackingNumber}, expected by ${shipment.promisedBy}.`,
    });
  }

  /**
   * Reserves the order's lines in a new round. With no stock anywhere, the backorder policy decides:
   * reject at once, or wait for a restock until the deadline and then cancel, nothing owed.
   */
  async function reserve(): Promise<void> {
    round += 1;
    const reservationRound = round;
    const resumeAs = view.status;
    const restockNeverLost = patched(Patch.RestockNeverLost);
    const retryEvery = durationMs(policy.backorderRetryInterval ?? '1h');
    let deadline: number | null = null;
    for (;;) {
      // A restock signalled from here on wakes the wait below, even one that lands while this attempt runs.
      if (restockNeverLost) stockArrived = false;
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
      if (!restockNeverLost) stockArrived = false;
      // A restock nobody signalled (it landed before the order was listed as backordered) is found
      // by trying again on a timer.
      const wakeAt = restockNeverLost ? Math.min(deadline, Date.now() + retryEvery) : deadline;
      const arrived = await condition(() => stockArrived || cancelRequest !== null, Math.max(1, wakeAt - Date.now()), {
        summary: wakeAt < deadline ? 'backorder: try the reservation again' : 'backorder deadline',
      });
      checkpoint();
      if (!arrived && Date.now() >= deadline) {
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
    ask: (taskId: string) => Promise<void>,
    accept: (event: WarehouseEvent) => boolean = () => true,
  ): Promise<WarehouseEvent> {
    const taskPrefix = `${kind === 'pick' ? pickTaskId(orderId) : packTaskId(orderId)}-`;
    const completedType = kind === 'pick' ? 'pick_completed' : 'pack_completed';
    // Only answers to the tasks asked for here count: an earlier short pick's answer is settled.
    const askedHere: string[] = [];
    const seen = new Set<string>();
    let accepted: WarehouseEvent | undefined;
    const askAgainAtOnce = patched(Patch.RejectedTaskAskedAgainAtOnce);
    let rejected = false;
    const done = () => {
      for (const [taskId, event] of warehouseEvents) {
        if (!askedHere.includes(taskId) || event.type !== completedType || seen.has(taskId)) continue;
        seen.add(taskId);
        if (accept(event)) {
          accepted = event;
          return true;
        }
        rejected = true;
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
        rejected = false;
        // A rejected answer asks again at once; a late one after the SLA.
        await condition(() => done() || (askAgainAtOnce && rejected) || cancelRequest !== null, durationMs(policy.warehouseTaskSla), {
          summary: `${kind} SLA (attempt ${attempt})`,
        });
        checkpoint();
        if (accepted) return accepted;
        const wrong = askAgainAtOnce ? rejected : seen.size > 0;
        await record(wrong ? `${kind}_rejected` : `${kind}_late`, view.status, wrong ? 'done, but it failed the check' : `${taskId} not done within ${policy.warehouseTaskSla}`);
        // (Before the patch every answer was looked at again on each attempt, a rejected one too.)
        if (!askAgainAtOnce) seen.clear();
      }
      const how = await park(`the warehouse did not complete the ${kind} after ${policy.warehouseTaskAttempts} attempts`, done);
      if (how === 'resumed') return accepted!;
    }
  }

  /** Closes the order early: undoes what was done, newest first, then records the outcome. */
  async function close(outcome: OrderClosing): Promise<void> {
    closing = true;
    const undone = patched(Patch.UndoMoneyFirst) ? await undoEachOnItsOwn() : await undoNewestFirst();
    const by = outcome.status === 'cancelled' && cancelRequest ? cancelRequest.requestedBy : null;
    if (by && cancelRequest) view.cancellation = { reason: cancelRequest.reason, requestedBy: by.id, free: !captured };
    view.attention = null;
    const who = by ? `by ${by.id} (${by.role})` : null;
    await record(outcome.type, outcome.status, [outcome.detail, who, ...undone].filter(Boolean).join('; '));
    await notify(outcome.notice);
    closed = true;
  }

  /** Before Patch.UndoMoneyFirst: newest first, each retried until it succeeds, one blocking the rest. */
  async function undoNewestFirst(): Promise<string[]> {
    const undone: string[] = [];
    for (const step of undo.reverse()) {
      const what = await step.run(mustComplete);
      if (what) undone.push(what);
    }
    return undone;
  }

  /**
   * Runs every undo in `undoSequence` order (money first), each with bounded retries and on its
   * own: one that keeps failing does not stop the others. Those that failed park the order with
   * their reasons until an operator retries them (again and again, if need be).
   */
  async function undoEachOnItsOwn(): Promise<string[]> {
    const undone: string[] = [];
    let pending = undoSequence(undo);
    for (;;) {
      const failed: { step: Undo; why: string }[] = [];
      for (const step of pending) {
        try {
          // Bounded like a forward step: one that keeps failing parks instead of blocking the rest.
          const what = await step.run(steps);
          if (what) undone.push(what);
        } catch (error) {
          if (!(error instanceof ActivityFailure)) throw error;
          failed.push({ step, why: `${step.name}: ${failureMessage(error)}` });
        }
      }
      if (failed.length === 0) return undone;
      await parkUndo(failed.map(({ why }) => why).join('; '));
      pending = failed.map(({ step }) => step);
    }
  }

  /** Parks a closing order until an operator retries its failed undos (a cancel is already under way). */
  async function parkUndo(reason: string): Promise<void> {
    const previous = view.status;
    parked = true;
    undoParked = true;
    retryRequested = false;
    view.attention = `could not undo: ${reason}`;
    log.warn('an undo needs attention', { orderId, reason });
    await record('needs_attention', 'needs_attention', view.attention);
    await condition(() => retryRequested);
    parked = false;
    undoParked = false;
    view.attention = null;
    await record('undo_retried', previous);
  }

  /**
   * Follows the current parcel through carrier scans, in any order and any number of times: the
   * status only moves forward. Silence past the promise plus the grace period, or a carrier
   * exception, is a delivery exception: the customer hears it from us first and a trace is opened;
   * a late `delivered` still closes it. Returns how the parcel's journey ended.
   */
  async function trackShipment(): Promise<'delivered' | 'lost' | 'returned_to_sender'> {
    const { trackingNumber, carrier, promisedBy } = view.shipment!;
    const seen = new Set<string>();
    let exceptionSince: number | null = null;
    const promiseDeadline = Date.parse(addDuration(promisedBy, policy.deliveryGrace));

    const enterException = async (reason: string) => {
      exceptionSince = Date.now();
      view.attention = reason;
      await record('delivery_exception', 'delivery_exception', reason);
      await notify({
        kind: 'delayed',
        about: trackingNumber,
        subject: `Order ${orderId} is delayed`,
        body: `Your parcel ${trackingNumber} is delayed (${reason}). We have asked ${carrier} to trace it and will keep you posted.`,
      });
      await mustComplete.openCarrierTrace({ carrier, trackingNumber, reason });
    };

    for (;;) {
      const deadline = exceptionSince === null ? promiseDeadline : exceptionSince + durationMs(policy.deliveryExceptionWait);
      const hasEvents = () => carrierEvents.length > 0;
      const arrived =
        deadline > Date.now()
          ? await condition(hasEvents, deadline - Date.now(), { summary: exceptionSince === null ? 'delivery promise' : 'delivery exception' })
          : hasEvents();
      if (!arrived) {
        if (exceptionSince !== null) {
          view.shipment = { ...view.shipment!, status: 'lost' };
          await record('parcel_lost', 'delivery_exception', `${trackingNumber} not found within ${policy.deliveryExceptionWait}`);
          return 'lost';
        }
        await enterException(`not delivered by the promised ${promisedBy} plus ${policy.deliveryGrace}`);
        continue;
      }
      for (const event of carrierEvents.splice(0)) {
        const key = `${event.type}@${event.at}`;
        if (event.trackingNumber !== trackingNumber || seen.has(key)) continue;
        seen.add(key);
        if (event.type === 'delivery_failed') {
          view.deliveryAttempts += 1;
          await record('delivery_failed', view.status, `attempt ${view.deliveryAttempts}${event.detail ? `: ${event.detail}` : ''}`);
          if (view.deliveryAttempts >= MAX_DELIVERY_ATTEMPTS) {
            view.shipment = { ...view.shipment!, status: 'returned_to_sender' };
            return 'returned_to_sender';
          }
          await notify({
            kind: 'delivery_failed',
            about: `${trackingNumber}-${view.deliveryAttempts}`,
            subject: `We missed you: order ${orderId}`,
            body: `${carrier} could not deliver your parcel (attempt ${view.deliveryAttempts} of ${MAX_DELIVERY_ATTEMPTS}) and will try again.`,
          });
          continue;
        }
        if (event.type === 'exception') {
          if (exceptionSince === null) await enterException(event.detail ?? 'the carrier reported an exception');
          continue;
        }
        const next = SHIPPING_PROGRESS.indexOf(event.type);
        if (next <= SHIPPING_PROGRESS.indexOf(view.shipment!.status)) continue;
        view.shipment = { ...view.shipment!, status: event.type };
        if (event.type === 'delivered') {
          if (exceptionSince !== null) await record('delivery_exception_closed', 'delivery_exception', 'delivered after all');
          view.attention = null;
          return 'delivered';
        }
        await record(event.type, exceptionSince === null ? event.type : 'delivery_exception', event.location);
        if (event.type === 'out_for_delivery') {
          await notify({ kind: 'out_for_delivery', about: trackingNumber, subject: `Order ${orderId} is out for delivery`, body: 'Your parcel will arrive today.' });
        }
      }
    }
  }

  /**
   * The carrier gave up after its last attempt and sends the parcel back. When the warehouse
   * receives it, resalable units go back on the shelf and the customer gets everything back; a
   * parcel that never comes back counts as lost and is refunded all the same.
   */
  async function parcelReturnedToSender(): Promise<void> {
    const totals = view.totals!;
    const ret = newReturn('returned_to_sender', lines.map(({ sku, quantity }) => ({ sku, quantity })), null);
    await record('returned_to_sender', 'delivery_exception', `after ${MAX_DELIVERY_ATTEMPTS} failed attempts; ${ret.returnId} expected back by ${ret.expiresAt}`);
    await mustComplete.recordReturn({ orderId, ret });
    await mustComplete.expectReturnParcel({ returnId: ret.returnId, orderId, warehouseId: view.warehouseId!, items: ret.items });
    const received = await condition(() => receipts.has(ret.returnId), Math.max(1, Date.parse(ret.expiresAt) - Date.now()), { summary: 'parcel back to sender' });
    if (!received) {
      throw new OrderClosing('cancelled', 'parcel_lost_refunded', `${ret.returnId} never came back`, {
        kind: 'refund_issued',
        subject: `Order ${orderId}: your refund`,
        body: `Your parcel could not be delivered and was lost on its way back. We refunded ${formatMoney(totals.total, totals.currency)}.`,
      });
    }
    await settleReturn(ret, totals.total);
    await record('order_returned', 'returned', `every unit came back; refunded ${formatMoney(view.payment.refunded, totals.currency)}`);
  }

  /**
   * The return window: returns are requested by update, their parcels arrive as warehouse receipts,
   * unanswered authorizations expire, and the customer is asked for feedback. The order completes
   * when the window has closed and no return is open, or ends `returned` if every unit came back.
   */
  async function returnWindow(): Promise<void> {
    const windowEnds = Date.parse(view.returnableUntil!);
    const feedbackAt = Date.now() + durationMs(policy.feedbackDelay);
    let feedbackAsked = false;
    for (;;) {
      for (const ret of view.returns) {
        const receipt = receipts.get(ret.returnId);
        if (receipt && (ret.status === 'authorized' || ret.status === 'expired')) await settleReturn(ret);
        else if (ret.status === 'authorized' && Date.parse(ret.expiresAt) <= Date.now()) await expireReturn(ret);
      }
      if (!feedbackAsked && Date.now() >= feedbackAt) {
        feedbackAsked = true;
        if (unitsLeftToReturn(lines, view.returns) > 0) {
          await notify({ kind: 'feedback_request', subject: `How was order ${orderId}?`, body: 'Tell us how we did: it takes a minute.' });
        }
      }
      const open = view.returns.filter((ret) => ret.status === 'authorized');
      if (Date.now() >= windowEnds && open.length === 0 && allHandlersFinished()) break;
      const wakeAt = Math.min(
        Date.now() >= windowEnds ? Infinity : windowEnds,
        feedbackAsked ? Infinity : feedbackAt,
        ...open.map((ret) => Date.parse(ret.expiresAt)),
      );
      returnsChanged = false;
      const pending = () => returnsChanged || view.returns.some((ret) => ret.status !== 'refunded' && receipts.has(ret.returnId));
      if (wakeAt === Infinity) await condition(() => pending() || allHandlersFinished());
      else await condition(pending, Math.max(1, wakeAt - Date.now()), { summary: 'return window' });
    }
    if (unitsLeftToReturn(lines, view.returns) === 0) await record('order_returned', 'returned', `every unit came back; refunded ${formatMoney(view.payment.refunded, view.totals!.currency)}`);
    else await record('order_completed', 'completed');
  }

  /**
   * Authorizes a return. Checked again here, and the units claimed in the same breath, so two
   * returns racing for the same units cannot both win. A prepaid label that cannot be bought gives
   * the claim back (the request is refused for now; asking again reuses the return ID, so a label
   * the carrier did sell is the one it gets). Recorded before the warehouse hears of it, so its
   * receipt always finds the return.
   */
  async function authorizeReturn({ items, reason, comment }: { items: { sku: string; quantity: number }[]; reason: string; comment?: string | undefined }): Promise<ReturnView> {
    const refusal = refusalOf(items);
    if (refusal) throw ApplicationFailure.nonRetryable(refusal, FailureType.ReturnNotAllowed);
    const ret = newReturn(reason, items, comment ?? null);
    const returnLabel = await steps.buyReturnLabel({ returnId: ret.returnId, warehouseId: view.warehouseId!, from: request.shippingAddress }).catch((error: unknown) => {
      view.returns.splice(view.returns.indexOf(ret), 1);
      returnsChanged = true;
      throw ApplicationFailure.nonRetryable(`no return label could be bought: ${failureMessage(error)}`, FailureType.ReturnLabelUnavailable);
    });
    ret.returnLabel = returnLabel;
    // The answer is the authorization as issued; the parcel may be back before this handler ends.
    const authorization: ReturnView = { ...ret, items: ret.items.map((item) => ({ ...item })) };
    await mustComplete.recordReturn({ orderId, ret });
    await mustComplete.expectReturnParcel({ returnId: ret.returnId, orderId, warehouseId: view.warehouseId!, items });
    const what = items.map((item) => `${item.quantity} × ${item.sku}`).join(', ');
    await record('return_authorized', view.status, `${ret.returnId} (${reason}): ${what}`);
    await notify({
      kind: 'return_authorized',
      about: ret.returnId,
      subject: `Order ${orderId}: return ${ret.returnId}`,
      body: `Send ${what} back with ${returnLabel.carrier} label ${returnLabel.trackingNumber} by ${ret.expiresAt}. We refund as soon as it arrives.`,
    });
    return authorization;
  }

  function newReturn(reason: string, items: { sku: string; quantity: number }[], comment: string | null): ReturnView {
    const ret: ReturnView = {
      returnId: `${orderId}-r${view.returns.length + 1}`,
      status: 'authorized',
      reason,
      comment,
      items,
      returnLabel: null,
      expiresAt: addDuration(new Date().toISOString(), policy.returnShippingWindow),
      units: [],
      refunded: 0,
      createdAt: new Date().toISOString(),
    };
    view.returns.push(ret);
    returnsChanged = true;
    return ret;
  }

  function refusalOf(items: { sku: string; quantity: number }[]): string | null {
    return returnRefusal({ status: view.status, returnableUntil: view.returnableUntil, delivered: lines, returns: view.returns }, items, Date.now());
  }

  /**
   * Refunds what came back: the items' price for every unit received (resalable back on the shelf,
   * damaged written off), plus shipping once when the reason is the seller's fault; `amount`
   * overrides it (a parcel back to sender refunds everything).
   */
  async function settleReturn(ret: ReturnView, amount?: number): Promise<void> {
    const receipt = receipts.get(ret.returnId)!;
    const totals = view.totals!;
    // A parcel that arrives after its authorization expired counts only for units no later return claimed.
    const authorized =
      ret.status === 'expired'
        ? ret.items.map((item) => ({ sku: item.sku, quantity: Math.min(item.quantity, unitsLeftToReturn(lines, view.returns, item.sku)) }))
        : ret.items;
    const units = authorizedUnits(authorized, receipt.units);
    await mustComplete.restockReturnedUnits({ orderId, returnId: ret.returnId, warehouseId: view.warehouseId!, units });
    const itemsPrice = units.reduce((sum, unit) => sum + unit.quantity * (lines.find((line) => line.sku === unit.sku)?.unitPrice ?? 0), 0);
    const shippingBack = (SELLER_FAULT_REASONS as readonly string[]).includes(ret.reason) && !shippingRefunded ? totals.shipping : 0;
    if (shippingBack > 0) shippingRefunded = true;
    const { refunded } = await mustComplete.refundPayment({ orderId, reason: `return:${ret.returnId}`, amount: amount ?? itemsPrice + shippingBack });
    ret.status = 'refunded';
    ret.units = units;
    ret.refunded = refunded;
    const refundedTotal = view.payment.refunded + refunded;
    view.payment = { ...view.payment, refunded: refundedTotal, status: refundedTotal >= view.payment.captured ? 'refunded' : view.payment.status };
    await mustComplete.recordReturn({ orderId, ret });
    const summary = units.map((unit) => `${unit.quantity} × ${unit.sku} ${unit.condition}`).join(', ');
    await record('return_refunded', view.status, `${ret.returnId}: ${summary}; refunded ${formatMoney(refunded, totals.currency)}`);
    await notify({
      kind: 'refund_issued',
      about: ret.returnId,
      subject: `Order ${orderId}: your refund`,
      body: `We received your return (${summary}) and refunded ${formatMoney(refunded, totals.currency)}.`,
    });
  }

  async function expireReturn(ret: ReturnView): Promise<void> {
    ret.status = 'expired';
    await mustComplete.recordReturn({ orderId, ret });
    await record('return_expired', view.status, `${ret.returnId}: no parcel by ${ret.expiresAt}`);
    await notify({
      kind: 'return_expired',
      about: ret.returnId,
      subject: `Order ${orderId}: return ${ret.returnId} expired`,
      body: 'We did not receive your return parcel in time, so the return authorization expired.',
    });
  }
}
