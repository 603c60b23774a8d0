/** Why a customer sends something back; reports count by these. */
export const returnReasons = [
  'damaged',
  'wrong_item',
  'not_as_described',
  'no_longer_needed',
  'size_or_fit',
  'other',
] as const;
export type ReturnReason = (typeof returnReasons)[number];

/** Reasons that are the seller's fault: the refund includes the shipping the customer paid. */
export const SELLER_FAULT_REASONS: readonly ReturnReason[] = ['damaged', 'wrong_item', 'not_as_described'];

interface Line {
  sku: string;
  quantity: number;
}

interface ReturnRecord {
  status: 'authorized' | 'received' | 'refunded' | 'expired';
  items: Line[];
  units: Line[];
}

/**
 * Delivered units not yet claimed by a return: an open authorization claims what it asked for, a
 * settled one what actually came back, an expired one nothing.
 */
export function unitsLeftToReturn(delivered: readonly Line[], returns: readonly ReturnRecord[], sku?: string): number {
  return delivered
    .filter((line) => sku === undefined || line.sku === sku)
    .reduce((left, line) => {
      const claimed = returns
        .filter((ret) => ret.status !== 'expired')
        .flatMap((ret) => (ret.status === 'authorized' ? ret.items : ret.units))
        .filter((item) => item.sku === line.sku)
        .reduce((sum, item) => sum + item.quantity, 0);
      return left + Math.max(0, line.quantity - claimed);
    }, 0);
}

/** Why a return of `items` cannot be accepted now, or null when it can. */
export function returnRefusal(
  order: {
    status: string;
    returnableUntil: string | null;
    delivered: readonly Line[];
    returns: readonly ReturnRecord[];
  },
  items: readonly Line[],
  now: number,
): string | null {
  if (order.status !== 'delivered' || !order.returnableUntil)
    return `order is ${order.status}; returns are possible once it is delivered, within the return window`;
  if (now >= Date.parse(order.returnableUntil)) return `the return window closed at ${order.returnableUntil}`;
  for (const item of items) {
    if (!order.delivered.some((line) => line.sku === item.sku)) return `${item.sku} is not part of this order`;
    const left = unitsLeftToReturn(order.delivered, order.returns, item.sku);
    if (item.quantity > left) return `only ${left} × ${item.sku} can still be returned`;
  }
  return null;
}

/** What a return parcel held that the return authorized: anything extra in the box is not refunded. */
export function authorizedUnits<U extends Line>(authorized: readonly Line[], received: readonly U[]): U[] {
  const allowed = new Map(authorized.map((item) => [item.sku, item.quantity]));
  return received.flatMap((unit) => {
    const left = allowed.get(unit.sku) ?? 0;
    const quantity = Math.min(left, unit.quantity);
    allowed.set(unit.sku, left - quantity);
    return quantity > 0 ? [{ ...unit, quantity }] : [];
  });
}

/**
 * What a return parcel is refunded: the catalog price of every authorized unit that came back,
 * whatever its condition, plus the order's shipping once (`shippingRefunded` says whether an
 * earlier return took it) when the reason is the seller's fault.
 */
export function returnRefund<U extends Line>(input: {
  authorized: readonly Line[];
  received: readonly U[];
  prices: readonly { sku: string; unitPrice: number }[];
  reason: string;
  shipping: number;
  shippingRefunded: boolean;
}): { units: U[]; itemsPrice: number; shipping: number } {
  const units = authorizedUnits(input.authorized, input.received);
  const itemsPrice = units.reduce(
    (sum, unit) => sum + unit.quantity * (input.prices.find((line) => line.sku === unit.sku)?.unitPrice ?? 0),
    0,
  );
  const sellerFault = (SELLER_FAULT_REASONS as readonly string[]).includes(input.reason);
  return { units, itemsPrice, shipping: sellerFault && !input.shippingRefunded ? input.shipping : 0 };
}
