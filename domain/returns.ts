/** Why a customer sends something back; reports count by these. */
export const returnReasons = ['damaged', 'wrong_item', 'not_as_described', 'no_longer_needed', 'size_or_fit', 'other'] as const;
export type ReturnReason = (typeof returnReasons)[number];

/** Reasons that are the seller's fault: the refund includes the shipping the customer paid. */
export const SELLER_FAULT_REASONS: readonly ReturnReason[] = ['damaged', 'wrong_item', 'not_as_described'];
