import {
  ActivityFailure,
  ApplicationFailure,
  condition,
  log,
  proxyActivities,
  setHandler,
  sleep,
  upsertSearchAttributes,
} from '@temporalio/workflow';
import type { OrderActivities } from '../activities/index.js';
import type { NotificationKind } from '../activities/notifications.js';
import { addDuration, durationMs } from '../domain/durations.js';
import { FailureType } from '../domain/errors.js';
import { packTaskId, pickTaskId } from '../domain/ids.js';
import { carrierEventSignal, orderViewQuery, warehouseEventSignal } from '../domain/messages.js';
import { initialOrderView, type OrderView, type OrderWorkflowInput, type PricedLine } from '../domain/order.js';
import { BOXES, chooseBox, packedWeightGrams, weightWithinTolerance } from '../domain/packaging.js';
import type { CarrierEvent, WarehouseEvent } from '../domain/schemas.js';
import { SHIPPING_PROGRESS, type OrderStatus } from '../domain/statuses.js';
import { OrderStatusAttribute } from '../domain/search-attributes.js';

const activities = proxyActivities<OrderActivities>({
  startToCloseTimeout: '1 minute',
  // Transient failures (a gateway blip, Postgres restarting) retry with backoff; business
  // failures are non-retryable ApplicationFailures with a type the workflow handles.
  retry: { initialInterval: '1 second', backoffCoefficient: 2, maximumInterval: '1 minute' },
});

function failureType(error: unknown): string | undefined {
  return error instanceof ActivityFailure && error.cause instanceof ApplicationFailure ? error.cause.type ?? undefined : undefined;
}

/**
 * One e-commerce order, from receipt to the end of its return window. The workflow is the source
 * of truth while the order runs; every status change is written to the read model and the
 * `OrderStatus` search attribute, and every wait is bounded by a timer.
 */
export async function orderWorkflow(input: OrderWorkflowInput): Promise<OrderView> {
  const { request, policy } = input;
  const { orderId } = request;
  const view = initialOrderView(input);
  const warehouseEvents = new Map<string, WarehouseEvent>();
  const carrierEvents: CarrierEvent[] = [];

  setHandler(orderViewQuery, () => view);
  setHandler(warehouseEventSignal, (event) => {
    if (event.orderId === orderId) warehouseEvents.set(event.taskId, event);
  });
  setHandler(carrierEventSignal, (event) => {
    carrierEvents.push(event);
  });

  let seq = 0;
  /** Records a milestone: timeline, status, search attribute, read model. */
  async function record(type: string, status: OrderStatus = view.status, detail?: string): Promise<void> {
    seq += 1;
    view.status = status;
    view.timeline.push({ seq, at: new Date().toISOString(), type, status, ...(detail ? { detail } : {}) });
    upsertSearchAttributes([{ key: OrderStatusAttribute, value: status }]);
    await activities.recordOrderUpdate({ order: input, view });
  }

  async function notify(kind: NotificationKind, subject: string, body: string): Promise<void> {
    await activities.notifyCustomer({ orderId, kind, recipient: request.customer.email, subject, body });
  }

  await activities.recordOrderUpdate({ order: input, view });

  // Price from the catalog: the caller never sets a price.
  let lines: PricedLine[];
  try {
    const quote = await activities.quoteOrder({ items: request.items, shippingSpeed: request.shippingSpeed });
    lines = quote.lines;
    view.items = lines.map(({ sku, name, quantity, unitPrice }) => ({ sku, name, quantity, unitPrice }));
    view.totals = quote.totals;
  } catch (error) {
    if (failureType(error) !== FailureType.UnknownSku) throw error;
    await record('order_rejected', 'rejected', (error as ActivityFailure).cause?.message);
    await notify('rejected', `Order ${orderId} could not be accepted`, 'An item in your order is no longer sold. Nothing was charged.');
    return view;
  }
  const totals = view.totals;
  const warehouseLines = lines.map(({ sku, quantity }) => ({ sku, quantity }));

  try {
    const { warehouseId } = await activities.reserveStock({ orderId, lines: warehouseLines, shippingAddress: request.shippingAddress });
    view.warehouseId = warehouseId;
  } catch (error) {
    if (failureType(error) !== FailureType.OutOfStock) throw error;
    await record('order_rejected', 'rejected', 'not enough stock at any warehouse');
    await notify('rejected', `Order ${orderId} could not be fulfilled`, 'We do not have enough stock to ship your order. Nothing was charged.');
    return view;
  }
  await record('stock_reserved', 'received', `at ${view.warehouseId}`);

  try {
    await activities.authorizePayment({ orderId, token: request.payment.token, amount: totals.total, currency: totals.currency });
    view.payment = { ...view.payment, status: 'authorized', authorized: totals.total };
  } catch (error) {
    if (failureType(error) !== FailureType.PaymentDeclined) throw error;
    await activities.releaseStock({ orderId });
    view.payment = { ...view.payment, status: 'declined' };
    await record('payment_declined', 'payment_failed', (error as ActivityFailure).cause?.message);
    await notify('payment_failed', `Payment for order ${orderId} was declined`, 'Your payment was declined, so the order was not placed. Nothing was charged.');
    return view;
  }
  await record('order_confirmed', 'confirmed');
  await notify(
    'confirmation',
    `Order ${orderId} confirmed`,
    `Thank you, ${request.customer.name}. Total ${formatMoney(totals.total, totals.currency)}. You can cancel free of charge until ${view.cancellableUntil}.`,
  );

  // The free-cancel buffer: nothing is charged or picked before it ends.
  const bufferLeft = Date.parse(view.cancellableUntil) - Date.now();
  if (bufferLeft > 0) await sleep(bufferLeft, { summary: 'cancellation buffer' });

  await activities.capturePayment({ orderId, amount: totals.total, currency: totals.currency });
  view.payment = { ...view.payment, status: 'captured', captured: totals.total };
  await record('payment_captured', 'processing');

  const warehouseId = view.warehouseId!;
  await warehouseTask('pick', (attempt) =>
    activities.requestPick({ taskId: `${pickTaskId(orderId)}-${attempt}`, orderId, warehouseId, lines: warehouseLines }),
  );
  await activities.recordPick({ orderId });
  await record('picked', 'processing');

  const box = chooseBox(lines) ?? BOXES[BOXES.length - 1]!;
  const expectedWeightGrams = packedWeightGrams(lines, box);
  if (!chooseBox(lines)) await attention(`items exceed the standard boxes; pack by hand in box ${box.code} or larger`);
  const packed = await warehouseTask(
    'pack',
    (attempt) =>
      activities.requestPack({ taskId: `${packTaskId(orderId)}-${attempt}`, orderId, warehouseId, lines: warehouseLines, box, expectedWeightGrams }),
    (event) => event.measuredWeightGrams === undefined || weightWithinTolerance(expectedWeightGrams, event.measuredWeightGrams),
  );
  await record('packed', 'processing', `box ${box.code}, ${packed.measuredWeightGrams ?? expectedWeightGrams} g`);

  const shipment = await activities.buyLabel({
    orderId,
    warehouseId,
    shippingAddress: request.shippingAddress,
    shippingSpeed: request.shippingSpeed,
    box,
    weightGrams: packed.measuredWeightGrams ?? expectedWeightGrams,
  });
  view.shipment = shipment;
  await record('label_created', 'processing', `${shipment.carrier} ${shipment.service} ${shipment.trackingNumber}`);
  await activities.handOverToCarrier({ carrier: shipment.carrier, service: shipment.service, trackingNumber: shipment.trackingNumber });
  view.shipment = { ...shipment, status: 'shipped' };
  await record('shipped', 'shipped', `${shipment.carrier} ${shipment.trackingNumber}`);
  await notify(
    'shipped',
    `Order ${orderId} has shipped`,
    `Your parcel is on its way with ${shipment.carrier} (${shipment.service}), tracking number ${shipment.trackingNumber}, expected by ${shipment.promisedBy}.`,
  );

  await trackUntilDelivered();

  view.returnableUntil = addDuration(new Date().toISOString(), policy.returnWindow);
  await record('delivered', 'delivered');
  await notify('delivered', `Order ${orderId} was delivered`, `Your order was delivered. You can return items until ${view.returnableUntil}.`);

  await sleep(durationMs(policy.returnWindow), { summary: 'return window' });
  await record('order_completed', 'completed');
  return view;

  /**
   * Asks the warehouse for a task and waits for it to report the task done, within the SLA. A task
   * not done in time (or done wrong, per `accept`) is asked for again; after the last attempt the
   * order needs a human, and it still waits for the warehouse, which can report any attempt done.
   */
  async function warehouseTask(
    kind: 'pick' | 'pack',
    ask: (attempt: number) => Promise<void>,
    accept: (event: WarehouseEvent) => boolean = () => true,
  ): Promise<WarehouseEvent> {
    const taskPrefix = `${kind === 'pick' ? pickTaskId(orderId) : packTaskId(orderId)}-`;
    const completedType = kind === 'pick' ? 'pick_completed' : 'pack_completed';
    const seen = new Set<string>();
    let accepted: WarehouseEvent | undefined;
    const done = () => {
      for (const [taskId, event] of warehouseEvents) {
        if (!taskId.startsWith(taskPrefix) || event.type !== completedType || seen.has(taskId)) continue;
        seen.add(taskId);
        if (accept(event)) {
          accepted = event;
          return true;
        }
        log.warn('warehouse task done wrong; asking again', { orderId, taskId });
      }
      return false;
    };
    for (let attempt = 1; attempt <= policy.warehouseTaskAttempts; attempt++) {
      await ask(attempt);
      if (await condition(done, durationMs(policy.warehouseTaskSla), { summary: `${kind} SLA (attempt ${attempt})` })) return accepted!;
      if (seen.size === 0) await record(`${kind}_late`, view.status, `attempt ${attempt} not done within ${policy.warehouseTaskSla}`);
      else await record(`${kind}_rejected`, view.status, 'warehouse reported the task done, but it failed the check');
    }
    const previous = view.status;
    await attention(`the warehouse did not complete the ${kind} after ${policy.warehouseTaskAttempts} attempts`);
    await condition(done);
    view.attention = null;
    await record(`${kind}_completed_late`, previous);
    return accepted!;
  }

  async function attention(reason: string): Promise<void> {
    view.attention = reason;
    await record('needs_attention', 'needs_attention', reason);
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
        await notify('delayed', `Order ${orderId} is running late`, `Your parcel ${trackingNumber} has not arrived by the promised date. We are on it with the carrier.`);
        await attention(`carrier has not delivered ${trackingNumber} by the promise plus ${policy.deliveryGrace}`);
        continue;
      }
      for (const event of carrierEvents.splice(0)) {
        if (event.trackingNumber !== trackingNumber) continue;
        const current = SHIPPING_PROGRESS.indexOf(view.shipment!.status);
        const next = SHIPPING_PROGRESS.indexOf(event.type);
        if (next <= current) continue;
        view.shipment = { ...view.shipment!, status: event.type };
        if (event.type === 'delivered') {
          view.attention = null;
          return;
        }
        await record(event.type, late ? 'needs_attention' : event.type, event.location);
        if (event.type === 'out_for_delivery') await notify('out_for_delivery', `Order ${orderId} is out for delivery`, 'Your parcel will arrive today.');
      }
    }
  }
}

function formatMoney(minor: number, currency: string): string {
  return `${(minor / 100).toFixed(2)} ${currency}`;
}
