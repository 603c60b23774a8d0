import { addDuration, durationMs } from '../../domain/durations.js';
import { MAX_DELIVERY_ATTEMPTS, SHIPPING_PROGRESS } from '../../domain/statuses.js';
import { formatMoney, OrderClosing } from '../outcomes.js';
import { mustComplete } from '../proxies.js';
import { DeadlineTimer } from './deadline.js';
import { reserve } from './reserve.js';
import { feedbackRequest, parcelReturnedToSender } from './returns.js';
import { shipFromWarehouse } from './ship.js';
import type { Order } from './state.js';

/**
 * Once shipped, the only way back is a return: the parcel is followed until it arrives. A lost
 * parcel is reshipped from stock or refunded (the policy decides); one the carrier gives up on
 * comes back to the warehouse and the order ends there.
 */
export async function followParcel(order: Order): Promise<'delivered' | 'returned_to_sender'> {
  const { orderId, policy, view, totals } = order;
  for (;;) {
    const outcome = await trackShipment(order);
    if (outcome === 'delivered') return 'delivered';
    if (outcome === 'returned_to_sender') {
      await parcelReturnedToSender(order);
      return 'returned_to_sender';
    }
    if (policy.deliveryExceptionPolicy === 'refund') {
      throw new OrderClosing('cancelled', 'parcel_lost_refunded', `${order.parcel!.trackingNumber} lost`, {
        kind: 'refund_issued',
        subject: `Order ${orderId}: your refund`,
        body: `Your parcel was lost in transit. We refunded ${formatMoney(totals.total, totals.currency)}.`,
      });
    }
    // Reship from stock: a new reservation, pick, pack and label; the lost units stay off the count.
    view.attention = null;
    await order.record('reship_started', 'processing', `${order.parcel!.trackingNumber} lost; shipping again`);
    await reserve(order);
    await shipFromWarehouse(order);
    await order.notify({
      kind: 'reshipped',
      about: order.parcel!.shipmentId,
      subject: `Order ${orderId} was shipped again`,
      body: `Your first parcel was lost, so we sent a new one: ${order.parcel!.carrier} ${order.parcel!.trackingNumber}, expected by ${order.parcel!.promisedBy}.`,
    });
  }
}

/**
 * Follows the current parcel through carrier scans, in any order and any number of times: the
 * status only moves forward. Silence past the promise plus the grace period, or a carrier
 * exception, is a delivery exception: the customer hears it from us first and a trace is opened;
 * a late `delivered` still closes it. Returns how the parcel's journey ended.
 */
async function trackShipment(order: Order): Promise<'delivered' | 'lost' | 'returned_to_sender'> {
  const { orderId, policy, view, carrierEvents } = order;
  const { trackingNumber, carrier, promisedBy } = order.parcel!;
  const seen = new Set<string>();
  let exceptionSince: number | null = null;
  const promiseDeadline = Date.parse(addDuration(promisedBy, policy.deliveryGrace));

  const enterException = async (reason: string) => {
    exceptionSince = Date.now();
    view.attention = reason;
    await order.record('delivery_exception', 'delivery_exception', reason);
    await order.notify({
      kind: 'delayed',
      about: trackingNumber,
      subject: `Order ${orderId} is delayed`,
      body: `Your parcel ${trackingNumber} is delayed (${reason}). We have asked ${carrier} to trace it and will keep you posted.`,
    });
    await mustComplete.openCarrierTrace({ carrier, trackingNumber, reason });
  };

  // Patch.LoneShipmentInOrder: one timer per deadline, not one per scan; Patch.SharedTimerAndWrites: the
  // shipment's one timer, running since its first warehouse task.
  const timer = order.sharedTimerAndWrites ? order.deadlines : order.oneTimerPerDeadline ? new DeadlineTimer() : null;
  try {
    return await followScans();
  } finally {
    timer?.cancel();
  }

  async function followScans(): Promise<'delivered' | 'lost' | 'returned_to_sender'> {
    for (;;) {
      const deadline =
        exceptionSince === null ? promiseDeadline : exceptionSince + durationMs(policy.deliveryExceptionWait);
      const hasEvents = () => carrierEvents.length > 0;
      const summary = exceptionSince === null ? 'delivery promise' : 'delivery exception';
      const arrived =
        deadline <= Date.now()
          ? hasEvents()
          : timer
            ? await timer.wait(order, hasEvents, deadline, summary)
            : await order.wait(hasEvents, deadline - Date.now(), { summary });
      if (!arrived) {
        if (exceptionSince !== null) {
          order.parcel = { ...order.parcel!, status: 'lost' };
          await order.record(
            'parcel_lost',
            'delivery_exception',
            `${trackingNumber} not found within ${policy.deliveryExceptionWait}`,
          );
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
          await order.record(
            'delivery_failed',
            view.status,
            `attempt ${view.deliveryAttempts}${event.detail ? `: ${event.detail}` : ''}`,
          );
          if (view.deliveryAttempts >= MAX_DELIVERY_ATTEMPTS) {
            order.parcel = { ...order.parcel!, status: 'returned_to_sender' };
            return 'returned_to_sender';
          }
          await order.notify({
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
        if (next <= SHIPPING_PROGRESS.indexOf(order.parcel!.status)) continue;
        order.parcel = { ...order.parcel!, status: event.type };
        if (event.type === 'delivered') {
          if (exceptionSince !== null)
            await order.record('delivery_exception_closed', 'delivery_exception', 'delivered after all');
          view.attention = null;
          return 'delivered';
        }
        await order.record(event.type, exceptionSince === null ? event.type : 'delivery_exception', event.location);
        if (event.type === 'out_for_delivery') {
          await order.notify({
            kind: 'out_for_delivery',
            about: trackingNumber,
            subject: `Order ${orderId} is out for delivery`,
            body: 'Your parcel will arrive today.',
          });
        }
      }
    }
  }
}

/** Delivered: the return window opens. */
export async function delivered(order: Order): Promise<void> {
  const { orderId, policy, view } = order;
  view.returnableUntil = addDuration(new Date().toISOString(), policy.returnWindow);
  await order.record('delivered', 'delivered');
  await order.notify({
    kind: 'delivered',
    subject: `Order ${orderId} was delivered`,
    body: `Your order was delivered. You can return items until ${view.returnableUntil}.`,
  });
  // Patch.FeedbackInOutbox: the feedback request is written now, to go out when due (the return
  // window withdraws it if every unit comes back first). Not if it would only be due after the window.
  const feedbackAt = Date.now() + durationMs(policy.feedbackDelay);
  if (order.feedbackInOutbox && feedbackAt <= Date.parse(view.returnableUntil)) {
    order.feedbackDueAt = feedbackAt;
    await order.notify(feedbackRequest(orderId, new Date(feedbackAt).toISOString()));
  }
}
