import { type Request, Router } from 'express';
import { type WorkflowHandle, WorkflowExecutionAlreadyStartedError, WorkflowNotFoundError } from '@temporalio/client';
import { and, eq, isNull } from 'drizzle-orm';
import { checkShippingAddress } from '../../domain/address.js';
import { addDuration } from '../../domain/durations.js';
import { orderWorkflowId, TASK_QUEUE } from '../../domain/ids.js';
import {
  initialOrderView,
  type OrderView,
  type OrderWorkflowInput,
  type PricedLine,
  type Quote,
} from '../../domain/order.js';
import { orderDetails, orderSummary } from '../../domain/operator-view.js';
import { orderTotals } from '../../domain/pricing.js';
import { DEFAULT_HIGH_VALUE_ORDER, orderPriority, priorityKey } from '../../domain/priority.js';
import { CancelOrderRequest, CreateOrderRequest } from '../../domain/schemas.js';
import { cancelOrderUpdate, retryUpdate } from '../../domain/messages.js';
import {
  ChannelAttribute,
  CustomerIdAttribute,
  OrderPriorityAttribute,
  OrderStatusAttribute,
} from '../../domain/search-attributes.js';
import { FINAL_STATUSES } from '../../domain/statuses.js';
import { orders, type products } from '../../db/schema.js';
import { actorOf } from '../http/actor.js';
import { type ApiContext, withTemporalDeadline, withUpdateDeadline } from '../context.js';
import { DocumentedListOrdersQuery } from '../contract.js';
import { updateIdFor } from '../http/idempotency.js';
import { parseOr400, problem } from '../http/problem.js';
import { asOrderResource, decodeCursor, findOrder, listOrders, type OrderResource, orderView } from './read-model.js';
import { catalogReader } from './catalog.js';
import { requestHash } from './request-hash.js';
import type { orderWorkflow } from '../../workflows/order.js';

/**
 * The order priced from the catalog as the workflow's quoteOrder activity prices it (the same pure
 * `orderTotals`), so the 202 tells the caller what they will pay; the workflow still prices from
 * the catalog itself. Null when the lines mix currencies: the workflow refuses such an order.
 */
export function quoteFromCatalog(request: CreateOrderRequest, catalog: (typeof products.$inferSelect)[]): Quote | null {
  const bySku = new Map(catalog.map((product) => [product.sku, product]));
  const currencies = new Set(catalog.map((product) => product.currency));
  if (currencies.size !== 1 || request.items.some((item) => !bySku.has(item.sku))) return null;
  const lines: PricedLine[] = request.items.map((item) => {
    const product = bySku.get(item.sku)!;
    const { name, price: unitPrice, weightGrams, lengthMm, widthMm, heightMm } = product;
    return { sku: item.sku, name, quantity: item.quantity, unitPrice, weightGrams, lengthMm, widthMm, heightMm };
  });
  return { lines, totals: orderTotals(lines, request.shippingSpeed, catalog[0]!.currency) };
}

/** The view with the quote's prices where the workflow has not priced it yet. */
function withQuote<View extends Pick<OrderView, 'items' | 'totals'>>(view: View, quote: Quote | null): View {
  if (!quote || view.totals) return view;
  return {
    ...view,
    totals: quote.totals,
    items: quote.lines.map(({ sku, name, quantity, unitPrice }) => ({ sku, name, quantity, unitPrice })),
  };
}

/**
 * The request with its shipping address normalized by postal data (domain/address.ts), or a 422
 * naming each field that cannot be right. Runs before anything is written or started; the
 * normalized address is what the order keeps (and what a retry's request hash is taken over).
 */
export function withCheckedAddress(request: CreateOrderRequest): CreateOrderRequest {
  const check = checkShippingAddress(request.shippingAddress);
  if (check.ok) return { ...request, shippingAddress: check.address };
  throw problem('InvalidAddress', `The shipping address does not match postal data: ${check.problems[0]!.message}.`, {
    errors: check.problems.map(({ field, message }) => ({ field: `shippingAddress.${field}`, message })),
  });
}

export function ordersRouter(context: ApiContext): Router {
  const { db } = context;
  const router = Router();
  const now = context.now ?? (() => new Date());
  const readCatalog = catalogReader(db);

  /**
   * Starts the order's workflow (an already-started one is the same order). If the request that
   * inserted the row (`owner`) cannot start it, the row goes unless it is marked started meanwhile:
   * a create that failed leaves nothing behind, and its retry inserts and starts afresh. A start
   * that succeeded but whose answer was lost is safe too: the workflow's first activity writes the
   * row again (activities/read-model.ts), marked started by the default.
   */
  async function startWorkflow(
    input: OrderWorkflowInput,
    { owner, quote }: { owner: boolean; quote: Quote | null },
  ): Promise<void> {
    const orderId = input.request.orderId;
    const priority = input.priority ?? 'normal';
    try {
      await withTemporalDeadline(context, () =>
        context.temporal.workflow.start<typeof orderWorkflow>('orderWorkflow', {
          workflowId: orderWorkflowId(orderId),
          taskQueue: TASK_QUEUE,
          args: [input],
          workflowIdReusePolicy: 'REJECT_DUPLICATE',
          // The order's activities and child workflows inherit it: under a backlog, urgent work is matched first.
          priority: { priorityKey: priorityKey(priority) },
          // What Temporal Web shows in the list and on the order's page (no personal data).
          staticSummary: orderSummary(input.request, quote?.totals ?? null),
          staticDetails: orderDetails(input.request, quote),
          typedSearchAttributes: [
            { key: OrderStatusAttribute, value: 'received' },
            { key: CustomerIdAttribute, value: input.request.customer.id },
            { key: ChannelAttribute, value: input.request.channel },
            { key: OrderPriorityAttribute, value: priority },
          ],
        }),
      );
    } catch (error) {
      if (!(error instanceof WorkflowExecutionAlreadyStartedError)) {
        if (owner) await db.delete(orders).where(and(eq(orders.orderId, orderId), isNull(orders.workflowStartedAt)));
        throw error;
      }
    }
  }

  /**
   * Records that the order's workflow started, so a redelivered create does not start it again.
   * Until it lands (or if it never does, the process gone), a redelivered create starts it once
   * more and Temporal answers that it runs already: the same order, nothing twice.
   */
  async function markStarted(orderId: string): Promise<void> {
    await db
      .update(orders)
      .set({ workflowStartedAt: now() })
      .where(and(eq(orders.orderId, orderId), isNull(orders.workflowStartedAt)));
  }

  async function currentView(orderId: string) {
    const view = await orderView(db, orderId);
    if (!view) throw problem('NotFound', `No order ${orderId}.`);
    return view;
  }

  router.post('/orders', async (req, res) => {
    const request = withCheckedAddress(parseOr400(CreateOrderRequest, req.body, 'order'));
    const skus = request.items.map((item) => item.sku);
    const catalog = await readCatalog(skus);
    const known = new Set(catalog.map((p) => p.sku));
    const unknown = request.items.flatMap((item, index) =>
      known.has(item.sku) ? [] : [{ field: `items[${index}].sku`, message: `unknown sku ${item.sku}` }],
    );
    if (unknown.length > 0)
      throw problem('InvalidRequest', 'One or more fields are invalid.', { title: 'Invalid order', errors: unknown });
    const quote = quoteFromCatalog(request, catalog);

    const hash = requestHash(request);
    const receivedAt = now().toISOString();
    const input: OrderWorkflowInput = {
      request,
      requestHash: hash,
      receivedAt,
      cancellableUntil: addDuration(receivedAt, context.orderPolicy.cancellationBuffer),
      policy: context.orderPolicy,
      priority: orderPriority({
        shippingSpeed: request.shippingSpeed,
        customerTier: request.customer.tier,
        total: quote?.totals.total ?? null,
        highValueOrder: context.orderPolicy.highValueOrder ?? DEFAULT_HIGH_VALUE_ORDER,
      }),
    };
    const view = withQuote(initialOrderView(input), quote);
    const { timeline: _timeline, ...snapshot } = view;
    // The row is the order's identity: whoever inserts it owns the order ID; everyone else is a retry or a conflict.
    const inserted = await db
      .insert(orders)
      .values({
        orderId: request.orderId,
        status: view.status,
        customerId: request.customer.id,
        channel: request.channel,
        requestHash: hash,
        input,
        workflowStartedAt: null,
        view: snapshot,
        cancellableUntil: new Date(view.cancellableUntil),
        createdAt: new Date(receivedAt),
      })
      .onConflictDoNothing()
      .returning({ orderId: orders.orderId });

    if (inserted.length === 1) {
      await startWorkflow(input, { owner: true, quote });
      // After the answer: the start is what makes the order, the mark only saves a retry a start.
      res.once('close', () =>
        markStarted(request.orderId).catch((error: unknown) =>
          context.log.error(error, 'could not record that the order started; a retry will start it again harmlessly'),
        ),
      );
      context.log.info({ orderId: request.orderId }, 'order received');
      // The row just written, answered as it is (no read back: the front door does one insert, one
      // start and the mark that it started). Nothing has been sent to the customer yet.
      const accepted: OrderResource = { ...view, notifications: [], pendingNotifications: [] };
      res
        .status(202)
        .location(`/orders/${encodeURIComponent(request.orderId)}`)
        .json(accepted);
      return;
    }
    const existing = (await findOrder(db, request.orderId))!;
    if (existing.requestHash !== hash) {
      throw problem('OrderIdTaken', `Order ${request.orderId} exists with a different request; use a new orderId.`, {
        errors: [{ field: 'orderId', message: 'already used for a different order' }],
      });
    }
    // Same request again: a retry. Its order runs or ran: answer the read model, and never start a
    // run again (Temporal forgets a closed run after retention; a new one would fulfil it twice).
    // A row whose start is still unconfirmed (the first try in flight, or its process gone) is
    // started here too, unless the reconciler already closed it (a never-started order it cancelled).
    const closed = (FINAL_STATUSES as readonly string[]).includes(existing.status);
    if (existing.workflowStartedAt === null && !closed) {
      await startWorkflow(existing.input, { owner: false, quote });
      await markStarted(request.orderId);
    }
    // The read model as it is: an order closed before the workflow priced it (cancelled at once) has no totals.
    res.status(200).json(await currentView(request.orderId));
  });

  /**
   * Runs a workflow update on a live order. A closed order answers 409 from the read model without
   * waking anything, unless the request's Idempotency-Key names an update that already ran: then
   * it gets that update's answer (a retry after a 503 whose cancel went on to close the order).
   */
  async function orderUpdate(
    req: Request,
    orderId: string,
    operationId: string,
    update: (handle: WorkflowHandle<typeof orderWorkflow>, updateId: string | undefined) => Promise<OrderView>,
  ): Promise<OrderView> {
    const order = await findOrder(db, orderId);
    if (!order) throw problem('NotFound', `No order ${orderId}.`);
    const handle = context.temporal.workflow.getHandle<typeof orderWorkflow>(orderWorkflowId(orderId));
    // With an Idempotency-Key, a retry after a 503 attaches to the update the first try began.
    const updateId = updateIdFor(req, operationId);
    if ((FINAL_STATUSES as readonly string[]).includes(order.status)) {
      const earlier = updateId === undefined ? null : await earlierOutcome(handle, updateId);
      if (earlier) return earlier;
      throw problem('OrderClosed', `Order ${orderId} is already ${order.status}.`);
    }
    // Compensations may take a little while (a refund, a label void): a longer deadline than reads.
    return withUpdateDeadline(context, () => update(handle, updateId));
  }

  /** The outcome of an update the closed workflow ran under this ID; null if it ran none (or is gone). */
  async function earlierOutcome(
    handle: WorkflowHandle<typeof orderWorkflow>,
    updateId: string,
  ): Promise<OrderView | null> {
    try {
      return await withTemporalDeadline(context, () => handle.getUpdateHandle<OrderView>(updateId).result());
    } catch (error) {
      // The client reports an unknown update (gRPC NOT_FOUND) as a workflow not found.
      if (error instanceof WorkflowNotFoundError) return null;
      throw error;
    }
  }

  /**
   * Cancels through a workflow update, so the caller learns the outcome: 200 with the cancelled
   * order once its compensations ran, or the refusal. Asking again is harmless.
   */
  router.post('/orders/:orderId/cancel', async (req, res) => {
    const { reason } = parseOr400(CancelOrderRequest, req.body ?? {}, 'cancellation');
    const view = await orderUpdate(req, req.params.orderId, 'cancelOrder', (handle, updateId) =>
      handle.executeUpdate(cancelOrderUpdate, { args: [{ reason, requestedBy: actorOf(req) }], updateId }),
    );
    context.log.info({ orderId: view.orderId, reason }, 'order cancelled');
    res.json(await asOrderResource(db, view));
  });

  /** Runbook: once the cause of a needs_attention order is fixed, run its parked step again. */
  router.post('/orders/:orderId/retry', async (req, res) => {
    const view = await orderUpdate(req, req.params.orderId, 'retryOrder', (handle, updateId) =>
      handle.executeUpdate(retryUpdate, { args: [{ requestedBy: actorOf(req) }], updateId }),
    );
    res.json(await asOrderResource(db, view));
  });

  router.get('/orders/:orderId', async (req, res) => {
    res.json(await currentView(req.params.orderId));
  });

  router.get('/orders', async (req, res) => {
    // The documented query (api/contract.ts): ListOrdersQuery with `status` one of the statuses.
    const query = parseOr400(DocumentedListOrdersQuery, req.query, 'query');
    const cursor = query.cursor ? decodeCursor(query.cursor) : undefined;
    if (cursor === null)
      throw problem('InvalidRequest', 'One or more fields are invalid.', {
        title: 'Invalid query',
        errors: [{ field: 'cursor', message: 'not a cursor from this API' }],
      });
    res.json(await listOrders(db, { status: query.status, customerId: query.customerId, limit: query.limit, cursor }));
  });

  return router;
}
