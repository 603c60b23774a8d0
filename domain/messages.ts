import { defineQuery, defineSignal, defineUpdate } from '@temporalio/workflow';
import type { OrderView, ReturnView, ShipmentReport } from './order.js';
import type { Actor, CarrierEvent, CreateReturnRequest, ReturnReceipt, WarehouseEvent } from './schemas.js';
import type { ShipmentReady, WaveLeave, WaveProgress, WavesView } from './waves.js';

/** The warehouse finished a pick or pack task (sent by the API's warehouse endpoint). */
export const warehouseEventSignal = defineSignal<[WarehouseEvent]>('warehouseEvent');

/** A carrier reported a tracking event (sent by the API's carrier webhook). */
export const carrierEventSignal = defineSignal<[CarrierEvent]>('carrierEvent');

/** The whole order as the workflow sees it now. */
export const orderViewQuery = defineQuery<OrderView>('orderView');

/** Stock of a sku the order waits for arrived somewhere (sent by the inventory API to backordered orders). */
export const stockArrivedSignal = defineSignal<[{ sku: string; warehouseId: string }]>('stockArrived');

/**
 * Cancel the order. Inside the free-cancel buffer nothing was charged and the authorization is voided;
 * later, everything done is undone in reverse. Rejected once the parcel has left. Returns the
 * order once its compensations have run.
 */
export const cancelOrderUpdate = defineUpdate<OrderView, [{ reason: string; requestedBy: Actor }]>('cancelOrder');

/** An operator fixed what parked the order in needs_attention: run the step again. */
export const retryUpdate = defineUpdate<OrderView, [{ requestedBy: Actor }]>('retry');

/**
 * Ask to return delivered units. Accepted only inside the return window and for delivered units not
 * yet returned; answers with the return authorization and its label.
 */
export const requestReturnUpdate = defineUpdate<ReturnView, [CreateReturnRequest & { requestedBy: Actor }]>(
  'requestReturn',
);

/** The warehouse received a return parcel and inspected it (sent by the API's return receipt endpoint). */
export const returnReceivedSignal = defineSignal<[ReturnReceipt & { returnId: string }]>('returnReceived');

/** A shipment is ready to pick (to its warehouse's `waves-<warehouseId>` workflow, by signal-with-start). */
export const shipmentReadySignal = defineSignal<[ShipmentReady]>('shipmentReady');

/**
 * A shipment no longer wants picking (its order was cancelled): it leaves the waiting shipments of
 * `waves-<warehouseId>` if it still waits there; the answer says so, or names the wave that already
 * released it (sent by the `leaveWaves` activity; a repeated leave gets the same answer).
 */
export const leaveWaveUpdate = defineUpdate<WaveLeave, [{ shipmentId: string; attempt: number }]>('leaveWave');

/**
 * The leave as shipments sent it before Patch.WaveLeaveAnswered: a signal without an answer. Still
 * handled, for shipments whose history took that path.
 */
export const leaveWaveSignal = defineSignal<[{ shipmentId: string; attempt: number }]>('leaveWave');

/** The warehouse answered a wave's batch pick for one shipment (to `wave-<waveId>`, sent by the API's warehouse endpoint). */
export const wavePickAnswerSignal = defineSignal<[WarehouseEvent]>('wavePickAnswer');

/** A wave tells one of its shipments how far it got (to the shipment's workflow). */
export const waveProgressSignal = defineSignal<[WaveProgress]>('waveProgress');

/** What a warehouse's wave workflow holds now (`waves-<warehouseId>`). */
export const wavesViewQuery = defineQuery<WavesView>('wavesView');

/** A shipment's milestone, sent by its workflow to its order's (the order keeps the one read model row). */
export const shipmentReportSignal = defineSignal<[ShipmentReport]>('shipmentReport');

/** The order was cancelled: a shipment still in the warehouse undoes what it did; one that left ignores it. */
export const cancelShipmentSignal = defineSignal<[{ reason: string; requestedBy: Actor }]>('cancelShipment');

/** An operator retries the order: a shipment parked in needs_attention runs its step again. */
export const retryShipmentSignal = defineSignal<[{ requestedBy: Actor }]>('retryShipment');
