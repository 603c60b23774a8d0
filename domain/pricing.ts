import type { PricedLine, Totals } from './order.js';
import type { ShippingSpeed } from './schemas.js';

/** What the customer pays for shipping: a base per speed plus a charge per started kilogram past the first. */
const SHIPPING_BASE: Record<ShippingSpeed, number> = { standard: 599, expedited: 1499, overnight: 2999 };
const PER_EXTRA_KG: Record<ShippingSpeed, number> = { standard: 100, expedited: 200, overnight: 400 };

/** Business days a speed promises; the carrier service chosen must be at least this fast. */
export const SPEED_MAX_TRANSIT_DAYS: Record<ShippingSpeed, number> = { standard: 5, expedited: 2, overnight: 1 };

export function orderWeightGrams(lines: readonly PricedLine[]): number {
  return lines.reduce((sum, line) => sum + line.weightGrams * line.quantity, 0);
}

export function shippingPrice(speed: ShippingSpeed, weightGrams: number): number {
  const extraKg = Math.max(0, Math.ceil(weightGrams / 1000) - 1);
  return SHIPPING_BASE[speed] + extraKg * PER_EXTRA_KG[speed];
}

export function orderTotals(lines: readonly PricedLine[], speed: ShippingSpeed, currency: string): Totals {
  const subtotal = lines.reduce((sum, line) => sum + line.unitPrice * line.quantity, 0);
  const shipping = shippingPrice(speed, orderWeightGrams(lines));
  return { subtotal, shipping, total: subtotal + shipping, currency };
}
