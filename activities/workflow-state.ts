import { type Client, WorkflowNotFoundError } from '@temporalio/client';
import { orderWorkflowId } from '../domain/ids.js';

/**
 * Whether an order's workflow can still act for it, as Temporal says. Used by `npm run check:ledger`
 * and the reconciler: the tables cannot tell a terminated workflow from a running one.
 */
export type OrderWorkflowState =
  | { closed: false; status: string }
  /** `NOT_FOUND`: never started, or its history is past the namespace's retention. */
  | {
      closed: true;
      status: 'COMPLETED' | 'FAILED' | 'CANCELLED' | 'TERMINATED' | 'TIMED_OUT' | 'NOT_FOUND';
      closedAt: Date | null;
    };

const CLOSED = ['COMPLETED', 'FAILED', 'CANCELLED', 'TERMINATED', 'TIMED_OUT'] as const;

/**
 * Describes the latest run of `order-<orderId>`. Running, paused or continued-as-new (a new run is
 * on its way) are open; after a Reset the latest run is the new, running one.
 */
export async function orderWorkflowState(client: Client, orderId: string): Promise<OrderWorkflowState> {
  try {
    const description = await client.workflow.getHandle(orderWorkflowId(orderId)).describe();
    const status = description.status.name;
    const closed = CLOSED.find((name) => name === status);
    return closed
      ? { closed: true, status: closed, closedAt: description.closeTime ?? null }
      : { closed: false, status };
  } catch (error) {
    if (error instanceof WorkflowNotFoundError) return { closed: true, status: 'NOT_FOUND', closedAt: null };
    throw error;
  }
}

/** The states of many orders' workflows, a few describes at a time; only closed (or gone) ones are returned. */
export async function closedOrderWorkflows(
  client: Client,
  orderIds: readonly string[],
  concurrency = 8,
): Promise<Map<string, OrderWorkflowState & { closed: true }>> {
  const closed = new Map<string, OrderWorkflowState & { closed: true }>();
  let next = 0;
  async function lane(): Promise<void> {
    while (next < orderIds.length) {
      const orderId = orderIds[next++]!;
      const state = await orderWorkflowState(client, orderId);
      if (state.closed) closed.set(orderId, state);
    }
  }
  await Promise.all(Array.from({ length: Math.min(concurrency, orderIds.length) }, lane));
  return closed;
}
