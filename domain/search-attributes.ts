import { defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';

/**
 * Search attributes operators filter orders by in Temporal Web, e.g. `OrderStatus = "needs_attention"`.
 * Registered when the dev server starts (scripts/temporal.ts) and in every test environment.
 */
export const OrderStatusAttribute = defineSearchAttributeKey('OrderStatus', SearchAttributeType.KEYWORD);
export const CustomerIdAttribute = defineSearchAttributeKey('CustomerId', SearchAttributeType.KEYWORD);
export const ChannelAttribute = defineSearchAttributeKey('Channel', SearchAttributeType.KEYWORD);
/** `urgent`, `high` or `normal` (domain/priority.ts), set once when the order's workflow starts. */
export const OrderPriorityAttribute = defineSearchAttributeKey('OrderPriority', SearchAttributeType.KEYWORD);

export const ORDER_SEARCH_ATTRIBUTES = [
  OrderStatusAttribute,
  CustomerIdAttribute,
  ChannelAttribute,
  OrderPriorityAttribute,
];
