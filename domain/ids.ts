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

/** A parcel of an order: `<orderId>-<n>`, n from 1 (its label, its reservations, its tasks). */
export function shipmentId(orderId: string, shipment: number): string {
  return `${orderId}-${shipment}`;
}

/** Workflow ID of shipment n of an order (a child of the order's workflow). */
export function shipmentWorkflowId(orderId: string, shipment: number): string {
  return `shipment-${shipmentId(orderId, shipment)}`;
}

/**
 * The shipment a warehouse task (`<orderId>-<n>-pick-1`) or a return (`<orderId>-<n>-r1`) belongs
 * to, or undefined for one of an order of the old shape (`<orderId>-pick-1`, `<orderId>-r1`).
 */
export function shipmentOfTask(orderId: string, taskId: string): number | undefined {
  if (!taskId.startsWith(`${orderId}-`)) return undefined;
  const match = /^(\d+)-/.exec(taskId.slice(orderId.length + 1));
  return match ? Number(match[1]) : undefined;
}

/** The shipment a label number belongs to: shipment n's labels are n, n + 1000, n + 2000 (reships). */
export function shipmentOfLabel(labelNumber: number): number {
  return labelNumber % 1000;
}
