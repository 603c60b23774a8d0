// The worker's workflows plus a test fixture playing a shipment's part in the wave protocol.
import { joinWave, type LabelResult, type PickResult, type WaveShipment } from '../../workflows/waves-client.js';

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
