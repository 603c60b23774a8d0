import type { AllocationLine } from './allocation.js';
import type { PricedLine, Totals } from './order.js';

/**
 * What each shipment of an order is charged when it is captured: its units at the order's prices,
 * and the order's shipping charge with the first shipment (the customer paid shipping once, and a
 * later shipment may never go). What never ships is never captured; the rest of the authorization
 * is voided.
 */
export function shipmentAmount(
  prices: readonly Pick<PricedLine, 'sku' | 'unitPrice'>[],
  lines: readonly AllocationLine[],
  shipping: number,
): number {
  return lines.reduce((sum, line) => sum + unitPrice(prices, line.sku) * line.quantity, 0) + shipping;
}

/** The value of units (a short pick, a return) at the order's prices. */
export function unitsValue(prices: readonly Pick<PricedLine, 'sku' | 'unitPrice'>[], lines: readonly AllocationLine[]) {
  return shipmentAmount(prices, lines, 0);
}

/** Shipping is charged with shipment 1; every later one carries only its units. */
export function shippingShare(totals: Pick<Totals, 'shipping'>, shipmentNumber: number): number {
  return shipmentNumber === 1 ? totals.shipping : 0;
}

function unitPrice(prices: readonly Pick<PricedLine, 'sku' | 'unitPrice'>[], sku: string): number {
  const line = prices.find((price) => price.sku === sku);
  if (!line) throw new Error(`no price for ${sku}`);
  return line.unitPrice;
}
