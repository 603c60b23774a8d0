// The worker's workflows plus a test fixture playing a shipment's part in the wave protocol.
import { condition, defineSignal, setHandler } from '@temporalio/workflow';
import {
  joinWave,
  type LabelResult,
  type PickResult,
  type WaveShipment,
  type WaveWithdrawal,
  withdrawFromWave,
} from '../../workflows/waves-client.js';

export * from '../../workflows/index.js';

/**
 * Stands in for the shipment child workflow (built by another change): joins its warehouse's
 * waves, waits for the batch pick's answer and, after a whole pick, for its label.
 */
export async function shipmentDriverWorkflow(
  shipment: WaveShipment,
): Promise<{ waveId: string; pick: PickResult; label: LabelResult | null }> {
  const assignment = await joinWave(shipment);
  const pick = await assignment.picked();
  if (!pick.picked || pick.shortages.length) return { waveId: assignment.waveId, pick, label: null };
  return { waveId: assignment.waveId, pick, label: await assignment.labelled() };
}

/** Cancelled (by the test) while it waits to be released: the shipment withdraws from its warehouse's waves. */
export const cancelShipmentSignal = defineSignal('cancelShipment');

/** What the shipment's undo gets to work with: it left, or the wave that released it and its answers. */
export async function leavingShipmentWorkflow(shipment: WaveShipment): Promise<WaveWithdrawal | null> {
  let cancelled = false;
  setHandler(cancelShipmentSignal, () => {
    cancelled = true;
  });
  const released = joinWave(shipment).then((assignment) => assignment.waveId);
  await condition(() => cancelled);
  const out = await withdrawFromWave(shipment, 0);
  // Never released, so `released` never settles; the test reads the waves instead.
  void released;
  return out;
}
