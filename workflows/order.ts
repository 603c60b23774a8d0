import type { OrderView, OrderWorkflowInput } from '../domain/order.js';
import { authorize, cancellationBuffer, capture, price } from './order/checkout.js';
import { runToTheEnd } from './order/close.js';
import { handleMessages } from './order/messages.js';
import { reserve } from './order/reserve.js';
import { returnWindow } from './order/returns.js';
import { shipFromWarehouse } from './order/ship.js';
import { Order } from './order/state.js';
import { delivered, followParcel } from './order/track.js';
import { releaseReservation } from './order/undos.js';
import { patched } from '@temporalio/workflow';
import { fulfilInShipments } from './order/shipments.js';
import { Patch } from './patches.js';
import { mustComplete } from './proxies.js';

/**
 * One e-commerce order, from receipt to the end of its return window (docs/design.md). The
 * workflow is the source of truth while the order runs; every milestone is written to the read
 * model and the `OrderStatus` search attribute, and every wait is bounded by a timer. Each effect
 * registers its undo first; an order that cannot or must not go on closes by running them
 * (workflows/order/close.ts), whether a caller, a decline, no stock, or Temporal Web's Cancel ends it.
 */
export async function orderWorkflow(input: OrderWorkflowInput): Promise<OrderView> {
  const order = new Order(input);
  handleMessages(order);
  return runToTheEnd(order, async () => {
    // 1. Received: the read model gets its row (lean: the API wrote it; the workflow's first write is held).
    if (order.lean) order.holdView();
    else await mustComplete.recordOrderUpdate({ order: input, view: order.view });
    // Lean: priced with the first reservation (workflows/order/shipments-plan.ts).
    if (!order.lean) await price(order);
    // Orders that reserved before shipments were child workflows replay (and finish) the one-parcel path.
    order.shipmentsShape = order.lean || patched(Patch.ShipmentsAsChildWorkflows);
    if (order.shipmentsShape) {
      // 2–6. Reserved per shipment, authorized, the buffer, then each shipment captured and run as a child.
      const outcome = await fulfilInShipments(order);
      if (outcome === 'returned') return order.record('order_returned', 'returned', 'every parcel came back');
      // 7. The return window; 8. completed (or returned).
      await delivered(order);
      await returnWindow(order);
      return;
    }
    // 2. Stock reserved at the best warehouse (or backordered).
    order.undo.push(releaseReservation(order));
    await reserve(order);
    // 3. Payment authorized, 4. the free-cancel buffer, 5. captured, picked, packed, labelled, handed over.
    await authorize(order);
    await cancellationBuffer(order);
    await capture(order);
    await shipFromWarehouse(order);
    // 6. Tracked until delivered (reshipped or refunded if lost; back to sender ends it here).
    if ((await followParcel(order)) === 'returned_to_sender') return;
    // 7. The return window; 8. completed (or returned).
    await delivered(order);
    await returnWindow(order);
  });
}
