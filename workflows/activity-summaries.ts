import { formatMoney } from './outcomes.js';

/**
 * The one-line summary each activity call carries into the history (its `userMetadata`), so
 * Temporal Web shows "capture 42.50 USD for order o-1" or "read model: o-1 shipped (label_created)"
 * instead of the activity type a dozen times. IDs, SKUs, amounts and statuses only: no personal
 * data. User metadata is no command attribute replay compares, so adding or changing a summary
 * needs no patch (test/replay.test.ts replays histories recorded without any).
 */

// The inputs are read loosely: a summary is a label, and a field it cannot find only shortens it.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Input = any;

const money = (input: Input) =>
  typeof input.amount === 'number' && typeof input.currency === 'string'
    ? formatMoney(input.amount, input.currency)
    : null;

const SUMMARIES: Record<string, (input: Input) => string> = {
  quoteOrder: (i) => `price order ${i.orderId} from the catalog`,
  reserveStock: (i) => `reserve stock for order ${i.orderId} (round ${i.round})`,
  reserveShipments: (i) =>
    `plan and reserve order ${i.orderId}'s shipments across warehouses (from shipment ${i.firstShipment}, ${i.policy})`,
  releaseStock: (i) => `release the stock order ${i.orderId} holds`,
  authorizePayment: (i) => `authorize ${money(i) ?? 'the total'} for order ${i.orderId}`,
  capturePayment: (i) => `capture ${money(i) ?? 'the payment'} for order ${i.orderId}`,
  voidAuthorization: (i) => `void the payment authorization of order ${i.orderId}`,
  refundPayment: (i) =>
    `refund ${typeof i.amount === 'number' ? `${(i.amount / 100).toFixed(2)}` : 'the capture'} of order ${i.orderId}: ${i.reason}`,
  requestPick: (i) => `ask warehouse ${i.warehouseId} to pick order ${i.orderId} (task ${i.taskId})`,
  requestPack: (i) =>
    `ask warehouse ${i.warehouseId} to pack order ${i.orderId} in box ${i.box?.id ?? i.box} (task ${i.taskId})`,
  cancelWarehouseTask: (i) => `withdraw warehouse task ${i.taskId}`,
  requestReturnToShelf: (i) =>
    `ask warehouse ${i.warehouseId} to put order ${i.orderId}'s units back (task ${i.taskId})`,
  expectReturnParcel: (i) =>
    `tell warehouse ${i.warehouseId} to expect return parcel of order ${i.orderId} (task ${i.taskId})`,
  recordPick: (i) => `book order ${i.orderId}'s picked units out of stock`,
  recordShortPick: (i) =>
    `book the short pick of order ${i.orderId}: ${(i.shortages ?? []).map((s: Input) => `${s.quantity}× ${s.sku}`).join(', ')}`,
  recordShipped: (i) => `book order ${i.orderId}'s shipped units`,
  buyLabel: (i) =>
    `buy a ${i.shippingSpeed ?? ''} label for order ${i.orderId}, shipment ${i.shipmentNumber}`.replace('  ', ' '),
  voidLabel: (i) => `void the label of order ${i.orderId}, shipment ${i.shipmentNumber}`,
  handOverToCarrier: (i) => `hand parcel ${i.trackingNumber} to ${i.carrier} (${i.service})`,
  quoteAndReserveShipments: (i) =>
    `price order ${i.orderId} from the catalog, then reserve its shipments (${i.policy ?? ''})`.replace(' ()', ''),
  quoteReserveAndAuthorize: (i) =>
    `price order ${i.orderId} from the catalog, reserve its shipments (${i.policy ?? ''}), then authorize the total`.replace(
      ' ()',
      '',
    ),
  recordPickAndRequestPack: (i) =>
    `book order ${i.orderId}'s picked units out of stock, then ask warehouse ${i.warehouseId} to pack them (task ${i.taskId})`,
  handOverAndRecordShipped: (i) =>
    `hand parcel ${i.trackingNumber} to ${i.carrier} (${i.service}), then book order ${i.orderId}'s shipped units`,
  openCarrierTrace: (i) => `open a trace with ${i.carrier} for parcel ${i.trackingNumber}: ${i.reason}`,
  notifyCustomer: (i) => `tell the customer of order ${i.orderId}: ${i.kind}${i.about ? ` (${i.about})` : ''}`,
  recordOrderUpdate: (i) =>
    `read model: order ${i.view?.orderId} ${i.view?.status}${i.view?.timeline?.length ? ` (${i.view.timeline.at(-1).type})` : ''}${i.notices?.length ? `; tell the customer: ${i.notices.map((n: Input) => n.kind).join(', ')}` : ''}`,
  recordReturn: (i) => `read model: return ${i.ret?.returnId} of order ${i.orderId} ${i.ret?.status}`,
  restockReturnedUnits: (i) => `book return ${i.returnId} of order ${i.orderId} into warehouse ${i.warehouseId}`,
  joinWaves: (i) =>
    `shipment ${i.shipmentId} (${i.priority}, ${i.carrier}) joins the waves of warehouse ${i.warehouseId} (attempt ${i.attempt})`,
  leaveWaves: (i) => `shipment ${i.shipmentId} leaves the waves of warehouse ${i.warehouseId} (attempt ${i.attempt})`,
  recordWave: (i) =>
    `wave ${i.waveId} ${i.status}${i.shipments ? ` with ${i.shipments.length} shipments` : ''}${i.reason ? ` (${i.reason})` : ''}`,
  requestWavePick: (i) =>
    `ask warehouse ${i.warehouseId} to batch-pick wave ${i.waveId}: ${i.shipments?.length ?? 0} shipments (task ${i.taskId})`,
  buyWaveLabels: (i) => `buy ${i.shipments?.length ?? 0} labels for wave ${i.waveId} in one batch, priority order`,
  rateWaveShipment: (i) =>
    `choose the ${i.shippingSpeed ?? ''} carrier service for a shipment from warehouse ${i.warehouseId}`.replace(
      '  ',
      ' ',
    ),
  recordWaveLabel: (i) =>
    `record wave ${i.waveId}'s label ${i.label?.trackingNumber} for order ${i.orderId}, shipment ${i.shipmentNumber}`,
  voidWaveLabel: (i) => `void the wave ${i.waveId} label of shipment ${i.shipmentId}`,
};

/** The summary of a call of activity `name` with `args`, or undefined for an activity without one. */
export function activitySummary(name: string, args: unknown[]): string | undefined {
  const summarize = SUMMARIES[name];
  if (!summarize || args.length === 0 || typeof args[0] !== 'object' || args[0] === null) return undefined;
  // A single line: Temporal Web shows the summary in the event list.
  return summarize(args[0]).replace(/\s+/g, ' ').trim().slice(0, 200);
}
