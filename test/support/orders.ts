import { randomUUID } from 'node:crypto';
import type { OrderPolicy, OrderWorkflowInput } from '../../domain/order.js';
import { addDuration } from '../../domain/durations.js';
import type { CreateOrderRequest } from '../../domain/schemas.js';

/** Production durations: the tests skip through them in time rather than shortening them. */
export const PRODUCTION_POLICY: OrderPolicy = {
  cancellationBuffer: '30m',
  returnWindow: '30d',
  warehouseTaskSla: '4h',
  warehouseTaskAttempts: 3,
  deliveryGrace: '2d',
  backorderPolicy: 'wait',
  backorderWait: '7d',
  backorderRetryInterval: '1h',
  deliveryExceptionWait: '3d',
  deliveryExceptionPolicy: 'reship',
  returnShippingWindow: '14d',
  feedbackDelay: '7d',
};

/** The timeline of an order that goes the happy path, from receipt to the end of its return window. */
export const HAPPY_PATH_TIMELINE = [
  'order_received',
  'stock_reserved',
  'order_confirmed',
  'payment_captured',
  'picked',
  'packed',
  'label_created',
  'shipped',
  'in_transit',
  'out_for_delivery',
  'delivered',
  'order_completed',
];

export function newOrderId(prefix = 'test'): string {
  return `${prefix}-${randomUUID().slice(0, 8)}`;
}

export function orderRequest(overrides: Partial<CreateOrderRequest> = {}): CreateOrderRequest {
  return {
    orderId: newOrderId(),
    customer: { id: 'cust-42', email: 'ada@example.com', name: 'Ada Lovelace' },
    channel: 'web',
    items: [
      { sku: 'MUG-CERAMIC', quantity: 2 },
      { sku: 'BOOK-TEMPORAL', quantity: 1 },
    ],
    shippingAddress: {
      name: 'Ada Lovelace',
      line1: '1 Main St',
      city: 'Boston',
      region: 'MA',
      postalCode: '02108',
      country: 'US',
    },
    shippingSpeed: 'standard',
    payment: { token: 'tok_visa' },
    ...overrides,
  };
}

export function workflowInput(
  request: CreateOrderRequest,
  receivedAt: string,
  policy: OrderPolicy = PRODUCTION_POLICY,
): OrderWorkflowInput {
  return {
    request,
    requestHash: `hash-${request.orderId}`,
    receivedAt,
    cancellableUntil: addDuration(receivedAt, policy.cancellationBuffer),
    policy,
  };
}
