import { OrderClosing } from '../outcomes.js';
import { authorize, cancellationBuffer } from './checkout.js';
import { captureShare, voidUncaptured } from './shipments-capture.js';
import { followShipments } from './shipments-follow.js';
import { reserveShipments } from './shipments-plan.js';
import type { Order } from './state.js';
import { releaseReservation } from './undos.js';

/**
 * The order's shipments (Patch.ShipmentsAsChildWorkflows): the planner's shipments are reserved,
 * the total authorized once, and after the free-cancel buffer each shipment's share is captured
 * and its child workflow started. The order follows them through their reports until each is
 * delivered or undone; what none of them ships is never captured, and what was is refunded by the
 * shipment that did not ship it.
 */
export async function fulfilInShipments(order: Order): Promise<'delivered' | 'returned'> {
  order.undo.push(releaseReservation(order));
  const { planned, authorization } = await reserveShipments(order);
  await authorize(order, voidUncaptured(order, planned), authorization);
  await cancellationBuffer(order);
  // Every share is captured before any shipment starts: a cancel until then undoes the order as a whole.
  for (const shipment of planned) await captureShare(order, shipment);
  order.checkpoint();
  const results = await followShipments(order, planned);
  // Returns go back to the warehouse of the first parcel delivered.
  const first = results.find((result) => result.outcome === 'delivered');
  if (first) {
    order.warehouseId = first.summary.warehouseId;
    return 'delivered';
  }
  if (results.some((result) => result.outcome === 'returned')) return 'returned';
  // Nothing shipped: the order closes (the shipments undid themselves; the authorization's rest is voided).
  const undone = results.map((result) => result.summary.timeline.at(-1)?.detail).filter(Boolean);
  // Cancelled by someone, or by what ended its shipments (a backorder that expired, a lost parcel refunded).
  const cause = order.cancelRequest ? null : order.children.closingNotice;
  throw new OrderClosing(
    'cancelled',
    cause?.type ?? 'order_cancelled',
    [order.cancelRequest?.reason, ...undone].filter(Boolean).join('; '),
    cause?.notice ?? {
      kind: 'cancelled',
      subject: `Order ${order.orderId} was cancelled`,
      body: 'Your order was cancelled and your payment refunded.',
    },
  );
}
