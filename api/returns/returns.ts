import { Router } from 'express';
import { eq } from 'drizzle-orm';
import { orderWorkflowId } from '../../domain/ids.js';
import { requestReturnUpdate, returnReceivedSignal } from '../../domain/messages.js';
import { CreateReturnRequest, ReturnReceipt } from '../../domain/schemas.js';
import { FINAL_STATUSES } from '../../domain/statuses.js';
import { returns } from '../../db/schema.js';
import type { orderWorkflow } from '../../workflows/order.js';
import { actorOf } from '../http/actor.js';
import { type ApiContext, withTemporalDeadline, withUpdateDeadline } from '../context.js';
import { ReturnIdParams } from '../contract.js';
import { updateIdFor } from '../http/idempotency.js';
import { parseOr400, problem } from '../http/problem.js';
import { findOrder } from '../orders/read-model.js';

/** Returns: customers (through a service) ask for them; the warehouse reports what came back. */
export function returnsRouter(context: ApiContext): Router {
  const { db } = context;
  const router = Router();

  /**
   * A return authorization, through a workflow update: the workflow checks the window and the
   * units left to return, so racing requests for the same units cannot both win.
   */
  router.post('/orders/:orderId/returns', async (req, res) => {
    const request = parseOr400(CreateReturnRequest, req.body ?? {}, 'return');
    const order = await findOrder(db, req.params.orderId);
    if (!order) throw problem('NotFound', `No order ${req.params.orderId}.`);
    if ((FINAL_STATUSES as readonly string[]).includes(order.status)) {
      throw problem('ReturnNotAllowed', `Order ${order.orderId} is ${order.status}; its return window is over.`);
    }
    const handle = context.temporal.workflow.getHandle<typeof orderWorkflow>(orderWorkflowId(order.orderId));
    // With an Idempotency-Key, a retry (say after a 503 while the label was being bought) attaches to the same update.
    // A refusal (ReturnNotAllowed, or ReturnLabelUnavailable: nothing claimed, ask again later) is
    // answered from the failure catalogue by the error handler.
    const updateId = updateIdFor(req, 'requestReturn');
    const authorization = await withUpdateDeadline(context, () =>
      handle.executeUpdate(requestReturnUpdate, { args: [{ ...request, requestedBy: actorOf(req) }], updateId }),
    );
    res
      .status(201)
      .location(`/orders/${encodeURIComponent(order.orderId)}`)
      .json(authorization);
  });

  /** The warehouse received a return parcel and says what was in it; the order's workflow refunds. */
  router.post('/warehouse/returns/:returnId/receipt', async (req, res) => {
    const { returnId } = parseOr400(ReturnIdParams, req.params, 'return ID');
    const receipt = parseOr400(ReturnReceipt, req.body ?? {}, 'return receipt');
    const [ret] = await db.select({ orderId: returns.orderId }).from(returns).where(eq(returns.returnId, returnId));
    if (!ret) throw problem('UnknownReturn', `No return ${returnId}.`);
    await withTemporalDeadline(context, () =>
      context.temporal.workflow
        .getHandle(orderWorkflowId(ret.orderId))
        .signal(returnReceivedSignal, { returnId, ...receipt }),
    );
    res.status(202).json({ accepted: true });
  });

  return router;
}
