/** The one task queue the order worker polls. */
export const TASK_QUEUE = 'order-fulfillment';

/** Workflow ID of an order: business-keyed, so a retried start can never create a second run. */
export function orderWorkflowId(orderId: string): string {
  return `order-${orderId}`;
}

/**
 * Idempotency key of one money or stock effect: the order ID plus the step, never the run ID
 * (which changes when an operator resets the workflow).
 */
export function effectKey(orderId: string, step: string): string {
  return `${orderId}:${step}`;
}

export function pickTaskId(orderId: string): string {
  return `${orderId}-pick`;
}

export function packTaskId(orderId: string): string {
  return `${orderId}-pack`;
}
