import { Router } from 'express';
import { WorkflowNotFoundError } from '@temporalio/client';
import { and, eq } from 'drizzle-orm';
import { orderWorkflowId, shipmentOfLabel, shipmentOfTask, shipmentWorkflowId } from '../../domain/ids.js';
import { carrierEventSignal, warehouseEventSignal, wavePickAnswerSignal } from '../../domain/messages.js';
import { waveWorkflowId } from '../../domain/waves.js';
import { CarrierEvent, WarehouseEvent } from '../../domain/schemas.js';
import { shipments, trackingEvents, waves } from '../../db/schema.js';
import { type ApiContext, withTemporalDeadline } from '../context.js';
import { CarrierParams } from '../contract.js';
import { parseOr400, problem } from '../http/problem.js';

/**
 * Signals the workflow of the shipment an event is about (`shipment-<orderId>-<n>`), or the
 * order's when there is none: an order of the old shape, an order's only shipment (it runs inside
 * the order's workflow), or a shipment whose workflow has ended (the order forwards what still matters).
 */
async function signalShipmentOrOrder(
  context: ApiContext,
  orderId: string,
  shipment: number | undefined,
  signal: (id: string) => Promise<void>,
) {
  if (shipment !== undefined) {
    try {
      return await withTemporalDeadline(context, () => signal(shipmentWorkflowId(orderId, shipment)));
    } catch (error) {
      if (!(error instanceof WorkflowNotFoundError)) throw error;
    }
  }
  await withTemporalDeadline(context, () => signal(orderWorkflowId(orderId)));
}

/**
 * Where a warehouse event goes: a task of an order to the order's workflow; a wave's batch pick,
 * answered per shipment (`waveId` and `shipmentId`), to the wave's workflow, which passes it to the
 * shipment. An unknown wave is a 404; an answer to a closed wave has nobody left to hear it.
 */
export async function deliverWarehouseEvent(context: ApiContext, event: WarehouseEvent): Promise<void> {
  if (event.waveId || event.shipmentId) {
    if (!event.waveId || !event.shipmentId)
      throw problem('InvalidRequest', 'A wave pick answer names both the wave and the shipment.', {
        title: 'Invalid warehouse event',
        errors: [{ field: event.waveId ? 'shipmentId' : 'waveId', message: 'required with a wave pick answer' }],
      });
    const [wave] = await context.db.select({ status: waves.status }).from(waves).where(eq(waves.id, event.waveId));
    if (!wave || wave.status === 'open') throw problem('UnknownWave', `No wave ${event.waveId}.`);
    if (wave.status === 'closed') return;
    await withTemporalDeadline(context, () =>
      context.temporal.workflow.getHandle(waveWorkflowId(event.waveId!)).signal(wavePickAnswerSignal, event),
    );
    return;
  }
  // A shipment's task is `<orderId>-<n>-pick-<k>`; an old-shape order's `<orderId>-pick-<k>`.
  await signalShipmentOrOrder(context, event.orderId, shipmentOfTask(event.orderId, event.taskId), (id) =>
    context.temporal.workflow.getHandle(id).signal(warehouseEventSignal, event),
  );
}

/**
 * The doors external parties report through: a warehouse management system saying a task is done
 * (with a `warehouse` API key), a carrier's tracking webhook (HMAC-signed; api/http/auth.ts checks it).
 * Each event becomes a signal to the order's workflow.
 */
export function eventsRouter(context: ApiContext): Router {
  const { db } = context;
  const router = Router();

  router.post('/warehouse/events', async (req, res) => {
    const event = parseOr400(WarehouseEvent, req.body, 'warehouse event');
    await deliverWarehouseEvent(context, event);
    res.status(202).json({ accepted: true });
  });

  router.post('/carriers/:carrier/events', async (req, res) => {
    const { carrier } = parseOr400(CarrierParams, req.params, 'carrier');
    const event = parseOr400(CarrierEvent, req.body, 'carrier event');
    const [shipment] = await db
      .select({ orderId: shipments.orderId, id: shipments.id })
      .from(shipments)
      .where(and(eq(shipments.carrier, carrier), eq(shipments.trackingNumber, event.trackingNumber)));
    if (!shipment)
      throw problem('UnknownTrackingNumber', `${carrier} has no shipment ${event.trackingNumber} with us.`);
    // The shipment's tracking history keeps every scan once, whatever the order moves to.
    await db
      .insert(trackingEvents)
      .values({
        trackingNumber: event.trackingNumber,
        type: event.type,
        at: new Date(event.at),
        location: event.location ?? null,
        detail: event.detail ?? null,
      })
      .onConflictDoNothing();
    // The label's row is `<orderId>-<label number>`; the label number names its shipment.
    const label = Number(shipment.id.slice(shipment.orderId.length + 1));
    try {
      await signalShipmentOrOrder(
        context,
        shipment.orderId,
        Number.isInteger(label) ? shipmentOfLabel(label) : undefined,
        (id) => context.temporal.workflow.getHandle(id).signal(carrierEventSignal, event),
      );
    } catch (error) {
      // The order is closed (a late or retried scan after completion): the scan is in the shipment's
      // history and there is nothing left to move. A 404 would make the carrier retry it for days.
      if (!(error instanceof WorkflowNotFoundError)) throw error;
    }
    res.status(202).json({ accepted: true });
  });

  return router;
}
