import type { ShippingSpeed } from './schemas.js';

/**
 * How soon an order's work is served: `urgent` (overnight shipping), `high` (expedited shipping, a
 * VIP customer, or a total at or above the high-value threshold) or `normal`. Decided once, by the
 * API before the workflow starts, and carried by the workflow as Temporal's task-queue priority, so
 * under a backlog the matching service hands urgent orders' tasks to workers first. Pure and
 * sandbox-safe.
 */
export const orderPriorities = ['urgent', 'high', 'normal'] as const;
export type OrderPriority = (typeof orderPriorities)[number];

export const customerTiers = ['standard', 'vip'] as const;
export type CustomerTier = (typeof customerTiers)[number];

/** `HIGH_VALUE_ORDER`'s default, in minor units of the order's currency (500.00). */
export const DEFAULT_HIGH_VALUE_ORDER = 50_000;

export interface PriorityFacts {
  shippingSpeed: ShippingSpeed;
  customerTier?: CustomerTier;
  /** The order's total in minor units; null when it cannot be priced yet (it is then not high-value). */
  total: number | null;
  /** Minor units: a total at or above it makes the order high priority. */
  highValueOrder: number;
}

export function orderPriority(facts: PriorityFacts): OrderPriority {
  if (facts.shippingSpeed === 'overnight') return 'urgent';
  if (facts.shippingSpeed === 'expedited') return 'high';
  if (facts.customerTier === 'vip') return 'high';
  if (facts.total !== null && facts.total >= facts.highValueOrder) return 'high';
  return 'normal';
}

/**
 * Temporal's `priorityKey` (1 is served first; the server's default range is 1..5 and an unset key
 * counts as 3). Normal orders say 3 explicitly, so they rank with work started without a priority.
 */
export const PRIORITY_KEYS: Record<OrderPriority, number> = { urgent: 1, high: 2, normal: 3 };

export function priorityKey(priority: OrderPriority): number {
  return PRIORITY_KEYS[priority];
}
