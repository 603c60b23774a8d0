import type { ReservedShipment } from '../../activities/inventory.js';
import type { AllocationLine } from '../../domain/allocation.js';
import { durationMs } from '../../domain/durations.js';
import { shipmentId } from '../../domain/ids.js';
import type { OrderShipment, PricedLine } from '../../domain/order.js';
import { OrderClosing } from '../outcomes.js';
import { steps } from '../proxies.js';
import { type FirstAuthorization, price, priceReserveAndAuthorize, type Reserved } from './checkout.js';
import { startBackorder } from './reserve.js';
import type { Order } from './state.js';

/** A shipment as planned: its number, where its units are held (null: a backordered remainder), its lines. */
export interface Planned {
  shipment: number;
  warehouseId: string | null;
  lines: PricedLine[];
}

/**
 * Plans and reserves the shipments; with nothing reservable, the backorder policy decides (as for
 * one parcel). With Patch.FeedbackInOutbox the first reservation also authorized: its answer comes back.
 */
export async function reserveShipments(
  order: Order,
): Promise<{ planned: Planned[]; authorization: FirstAuthorization }> {
  const { orderId, request, policy, view } = order;
  const resumeAs = view.status;
  const partial =
    (request.backorderPolicy ?? policy.backorderPolicy) === 'reject'
      ? 'reject'
      : (policy.partialFulfillment ?? 'ship_available');
  const retryEvery = durationMs(policy.backorderRetryInterval ?? '1h');
  let deadline: number | null = null;
  // Lean: the order is priced by the activity that makes its first reservation.
  let unpriced = order.lean;
  let authorization: FirstAuthorization = null;
  for (;;) {
    order.stockArrived = false;
    const reserve = { orderId, firstShipment: 1, shippingAddress: request.shippingAddress, policy: partial };
    let reserved: Reserved;
    if (unpriced && order.feedbackInOutbox)
      ({ reserved, authorization } = await priceReserveAndAuthorize(order, reserve));
    else if (unpriced) reserved = await price(order, reserve);
    else
      reserved = await order.runStep('reserve stock', () =>
        steps.reserveShipments({ ...reserve, lines: order.warehouseLines() }),
      );
    const { shipments, missing } = reserved;
    unpriced = false;
    if (shipments.length > 0) {
      const planned: Planned[] = shipments.map((held: ReservedShipment) => ({
        shipment: held.shipment,
        warehouseId: held.warehouseId,
        lines: priced(order, held.lines),
      }));
      // What no warehouse holds now ships later, as a shipment of its own that waits for stock.
      if (missing.length > 0)
        planned.push({ shipment: planned.length + 1, warehouseId: null, lines: priced(order, missing) });
      order.warehouseId = shipments[0]!.warehouseId;
      view.shipments = planned.map((p) => newShipment(order, p));
      const where = shipments.map((held) => held.warehouseId);
      await order.record(
        'stock_reserved',
        resumeAs,
        `at ${where.join(', ')}${missing.length ? `; backordered: ${describe(missing)}` : ''}`,
      );
      return { planned, authorization };
    }
    if (partial === 'reject') {
      throw new OrderClosing('rejected', 'order_rejected', 'not enough stock in the network', {
        kind: 'rejected',
        subject: `Order ${orderId} could not be fulfilled`,
        body: 'We do not have enough stock to ship your order. Nothing was charged.',
      });
    }
    // Nothing is captured yet: the notice says nothing of a refund.
    deadline ??= await startBackorder(order);
    const wakeAt = Math.min(deadline, Date.now() + retryEvery);
    const arrived = await order.wait(
      () => order.stockArrived || order.cancelRequest !== null,
      Math.max(1, wakeAt - Date.now()),
      { summary: wakeAt < deadline ? 'backorder: try the reservation again' : 'backorder deadline' },
    );
    order.checkpoint();
    if (!arrived && Date.now() >= deadline) {
      throw new OrderClosing('cancelled', 'backorder_expired', `no stock arrived within ${policy.backorderWait}`, {
        kind: 'backorder_expired',
        subject: `Order ${orderId} was cancelled`,
        body: 'The items did not come back in stock in time, so we cancelled your order. Nothing was charged.',
      });
    }
  }
}

function newShipment(order: Order, planned: Planned): OrderShipment {
  return {
    shipmentId: shipmentId(order.orderId, planned.shipment),
    warehouseId: planned.warehouseId ?? '',
    items: planned.lines.map(({ sku, quantity }) => ({ sku, quantity })),
    status: planned.warehouseId ? 'reserved' : 'backordered',
    carrier: null,
    service: null,
    trackingNumber: null,
    promisedBy: null,
    waveId: null,
    priority: null,
    timeline: [],
  };
}

function priced(order: Order, lines: readonly AllocationLine[]): PricedLine[] {
  return lines.map((line) => ({ ...order.lines.find((l) => l.sku === line.sku)!, quantity: line.quantity }));
}

function describe(lines: readonly AllocationLine[]): string {
  return lines.map((line) => `${line.quantity} × ${line.sku}`).join(', ');
}
