import { patched } from '@temporalio/workflow';
import { durationMs } from '../../domain/durations.js';
import { FailureType } from '../../domain/failures.js';
import { failureType, OrderClosing } from '../outcomes.js';
import { Patch } from '../patches.js';
import { steps } from '../proxies.js';
import type { Order } from './state.js';

/**
 * Reserves the order's lines in a new round. With no stock anywhere, the backorder policy decides:
 * reject at once, or wait for a restock (signalled, or found by trying again every
 * `backorderRetryInterval`) until the deadline and then cancel, nothing owed.
 */
export async function reserve(order: Order): Promise<void> {
  const { orderId, request, policy, view } = order;
  order.round += 1;
  const reservationRound = order.round;
  const resumeAs = view.status;
  const restockNeverLost = order.lean || patched(Patch.RestockNeverLost);
  const retryEvery = durationMs(policy.backorderRetryInterval ?? '1h');
  let deadline: number | null = null;
  for (;;) {
    // A restock signalled from here on wakes the wait below, even one that lands while this attempt runs.
    if (restockNeverLost) order.stockArrived = false;
    try {
      const { warehouseId } = await order.runStep(
        'reserve stock',
        () =>
          steps.reserveStock({
            ...order.subject,
            round: reservationRound,
            lines: order.warehouseLines(),
            shippingAddress: request.shippingAddress,
          }),
        [FailureType.OutOfStock],
      );
      order.warehouseId = warehouseId;
      await order.record('stock_reserved', resumeAs, `at ${warehouseId}`);
      return;
    } catch (error) {
      if (failureType(error) !== FailureType.OutOfStock) throw error;
    }
    if ((request.backorderPolicy ?? policy.backorderPolicy) === 'reject') {
      throw new OrderClosing('rejected', 'order_rejected', 'not enough stock at any warehouse', {
        kind: 'rejected',
        subject: `Order ${orderId} could not be fulfilled`,
        body: `We do not have enough stock to ship your order.${order.captured ? ' Your payment was refunded.' : ' Nothing was charged.'}`,
      });
    }
    deadline ??= await startBackorder(order);
    if (!restockNeverLost) order.stockArrived = false;
    // A restock nobody signalled (it landed before the order was listed as backordered) is found
    // by trying again on a timer.
    const wakeAt = restockNeverLost ? Math.min(deadline, Date.now() + retryEvery) : deadline;
    const arrived = await order.wait(
      () => order.stockArrived || order.cancelRequest !== null,
      Math.max(1, wakeAt - Date.now()),
      {
        summary: wakeAt < deadline ? 'backorder: try the reservation again' : 'backorder deadline',
      },
    );
    order.checkpoint();
    if (!arrived && Date.now() >= deadline) {
      throw new OrderClosing('cancelled', 'backorder_expired', `no stock arrived within ${policy.backorderWait}`, {
        kind: 'backorder_expired',
        subject: `Order ${orderId} was cancelled`,
        body: `The items did not come back in stock in time, so we cancelled your order.${order.captured ? ' Your payment was refunded.' : ' Nothing was charged.'}`,
      });
    }
  }
}

/** Starts waiting for stock: records it, tells the customer until when, and answers that deadline. */
export async function startBackorder(order: Order): Promise<number> {
  const deadline = Date.now() + durationMs(order.policy.backorderWait);
  const until = new Date(deadline).toISOString();
  await order.record('backordered', 'backordered', `waiting for stock until ${until}`);
  await order.notify({
    kind: 'backordered',
    subject: `Order ${order.orderId} is backordered`,
    body: `Part of your order is out of stock. We will ship as soon as it arrives, or cancel the order ${order.captured ? 'and refund you ' : ''}if it has not arrived by ${until}.`,
  });
  return deadline;
}
