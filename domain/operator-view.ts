import type { OrderView, Totals } from './order.js';
import type { CreateOrderRequest } from './schemas.js';

/**
 * What an operator reads about an order in Temporal Web: the static summary and details given at
 * start, and the current details the workflow keeps up to date. Histories and Temporal Web hold no
 * personal data, so these name the order, SKUs, amounts, channel and the opaque customer ID, never
 * the customer's name, email or address.
 */

function money(minor: number, currency: string): string {
  return `${(minor / 100).toFixed(2)} ${currency}`;
}

/** At most this many lines are named in the one-line summary; the rest are counted. */
const SUMMARY_LINES = 3;

/** One line for the workflow list: `Order o-1: 2× MUG-CERAMIC, 1× BOOK-TEMPORAL · 42.50 USD · web · expedited`. */
export function orderSummary(request: CreateOrderRequest, totals: Totals | null): string {
  const named = request.items.slice(0, SUMMARY_LINES).map((item) => `${item.quantity}× ${item.sku}`);
  const more = request.items.length - named.length;
  const items = more > 0 ? `${named.join(', ')} and ${more} more` : named.join(', ');
  return [
    `Order ${request.orderId}: ${items}`,
    totals ? money(totals.total, totals.currency) : null,
    request.channel,
    request.shippingSpeed,
  ]
    .filter((part) => part !== null)
    .join(' · ');
}

/** The order's page: every line, the totals, channel, speed and customer ID (Temporal Web renders it as markdown). */
export function orderDetails(
  request: CreateOrderRequest,
  quote: { totals: Totals; lines: { sku: string; quantity: number; unitPrice: number }[] } | null,
): string {
  const price = new Map(quote?.lines.map((line) => [line.sku, line.unitPrice]));
  const currency = quote?.totals.currency;
  const rows = request.items.map((item) => {
    const unit = price.get(item.sku);
    return `| ${item.sku} | ${item.quantity} | ${unit === undefined || !currency ? '' : money(unit, currency)} |`;
  });
  return [
    `**Order ${request.orderId}**`,
    '',
    '| SKU | quantity | unit price |',
    '| --- | --- | --- |',
    ...rows,
    '',
    ...(quote
      ? [
          `Subtotal ${money(quote.totals.subtotal, quote.totals.currency)}, shipping ${money(quote.totals.shipping, quote.totals.currency)}, total **${money(quote.totals.total, quote.totals.currency)}**`,
          '',
        ]
      : []),
    `Channel ${request.channel} · shipping ${request.shippingSpeed} · customer ID ${request.customer.id}`,
  ].join('\n');
}

/** What an order in each status waits for, and until when (from the view), for its current details. */
export function waitingFor(view: OrderView): string | null {
  // The latest promise of the parcels still on their way (each shipment has its own).
  const promised = view.shipments
    .map((shipment) => shipment.promisedBy)
    .filter((at): at is string => at !== null)
    .sort()
    .at(-1);
  switch (view.status) {
    case 'received':
      return 'stock and the payment authorization';
    case 'confirmed':
      return `the free-cancel buffer, until ${view.cancellableUntil}`;
    case 'processing':
      return 'the warehouse: pick, pack and label';
    case 'partially_shipped':
    case 'partially_delivered':
      return `the warehouse and the carrier: ${view.shipments.length} shipments`;
    case 'shipped':
    case 'in_transit':
    case 'out_for_delivery':
      return `the carrier's delivery scan${promised ? `, promised by ${promised}` : ''}`;
    case 'delivery_exception':
      return "the carrier's trace of the parcel, then the delivery-exception policy";
    case 'delivered':
      return view.returnableUntil ? `the return window, open until ${view.returnableUntil}` : 'the return window';
    case 'backordered':
      return 'a restock (or the backorder deadline)';
    case 'needs_attention':
      return 'an operator: retry (POST /orders/{id}/retry) or cancel';
    default:
      return null;
  }
}

/**
 * The current details (markdown): status and phase, what the order waits for and until when, the
 * last problem. `lastProblem` outlives the park that recorded it, so an order that was resumed
 * still says what went wrong last.
 */
export function orderCurrentDetails(view: OrderView, lastProblem: string | null): string {
  const last = view.timeline.at(-1);
  const waiting = waitingFor(view);
  return [
    `**${view.status}**${last ? ` · last step ${last.type} at ${last.at}` : ''}`,
    waiting ? `Waiting for ${waiting}` : 'Waiting for nothing: the order is closed',
    ...(view.attention ? [`Needs attention: ${view.attention}`] : []),
    ...(lastProblem && lastProblem !== view.attention ? [`Last problem: ${lastProblem}`] : []),
  ].join('\n\n');
}
