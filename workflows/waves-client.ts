import {
  condition,
  getExternalWorkflowHandle,
  patched,
  proxyActivities,
  setHandler,
  workflowInfo,
} from '@temporalio/workflow';
import type { WaveActivities } from '../activities/index.js';
import { leaveWaveSignal, waveProgressSignal } from '../domain/messages.js';
import {
  type ShipmentReady,
  type WaveLabel,
  type WaveProgress,
  type WaveShortage,
  wavesWorkflowId,
} from '../domain/waves.js';
import { activitySummary } from './activity-summaries.js';
import { Patch } from './patches.js';

/**
 * How a shipment's workflow gets picked and labelled in its warehouse's waves: the protocol.
 *
 * 1. `joinWave(shipment)` runs the `joinWaves` activity, which signal-with-starts
 *    `waves-<warehouseId>` with `shipmentReady` (workflow code cannot signal-with-start, and
 *    `getExternalWorkflowHandle().signal` needs the workflow to exist). The shipment's own workflow
 *    ID and attempt number travel with it; a retried join counts once.
 * 2. The wave workflow releases the shipment in a wave (by size, age, carrier cut-off or urgency)
 *    and signals `waveProgress` back to the shipment's workflow, in order:
 *    - `released` with the `waveId`: `joinWave` resolves with the assignment;
 *    - `picked` with `shortages` (empty: picked whole), or `not_picked` (the warehouse did not answer
 *      the batch pick within its SLA after its attempts): `assignment.picked()`;
 *    - for a whole pick, `labelled` with the label bought in the wave's batch (print position on the
 *      wave's label sheet), or `label_failed`: `assignment.labelled()`.
 * 3. A short pick is the shipment's to handle, as today: record it, reserve again, then `joinWave`
 *    again (the next attempt). The label's undo is `voidWaveLabel({ waveId, shipmentId })`.
 * 4. A shipment cancelled before its label is its own withdraws (`withdrawFromWave`): the
 *    `leaveWaves` activity sends the `leaveWave` update to `waves-<warehouseId>`, whose answer is
 *    the truth: it still waited and is out, or it was released in a wave, whose answers for it the
 *    shipment then waits for and undoes.
 *
 * Call it only from the workflow of the shipment (it installs the `waveProgress` handler).
 */

export type WaveShipment = Omit<ShipmentReady, 'workflowId' | 'readyAt' | 'attempt'>;

export type PickResult = { picked: true; shortages: WaveShortage[] } | { picked: false; reason: string };

export type LabelResult = { labelled: true; label: WaveLabel } | { labelled: false; reason: string };

export interface WaveAssignment {
  waveId: string;
  /** The attempt this assignment is for (1 on the first join). */
  attempt: number;
  /** The warehouse's answer to the batch pick for this shipment. */
  picked(): Promise<PickResult>;
  /** The label from the wave's batch (only after a whole pick). */
  labelled(): Promise<LabelResult>;
}

const joining = proxyActivities<WaveActivities>({
  startToCloseTimeout: '1 minute',
  retry: { initialInterval: '1 second', backoffCoefficient: 2, maximumInterval: '1 minute' },
});

/** Every `waveProgress` this workflow received, per shipment and attempt (module state is per workflow run). */
const received: WaveProgress[] = [];
let attempts = 0;

/** The leave retries until the waves workflow answers: the undo cannot finish without the answer. */
const leaving = proxyActivities<WaveActivities>({
  startToCloseTimeout: '1 minute',
  retry: { initialInterval: '1 second', backoffCoefficient: 2, maximumInterval: '1 minute' },
});
let listening = false;

function listen(): void {
  if (listening) return;
  listening = true;
  setHandler(waveProgressSignal, (progress) => {
    received.push(progress);
  });
}

function progressOf(shipmentId: string, attempt: number, stages: WaveProgress['stage'][]): WaveProgress | undefined {
  return received.find((p) => p.shipmentId === shipmentId && p.attempt === attempt && stages.includes(p.stage));
}

/** Joins the shipment's warehouse's waves and resolves once it is released in a wave (see the protocol above). */
export async function joinWave(shipment: WaveShipment): Promise<WaveAssignment> {
  listen();
  const attempt = ++attempts;
  const { shipmentId } = shipment;
  await joining.joinWaves({
    ...shipment,
    workflowId: workflowInfo().workflowId,
    readyAt: new Date(Date.now()).toISOString(),
    attempt,
  });
  await condition(() => progressOf(shipmentId, attempt, ['released']) !== undefined);
  const waveId = progressOf(shipmentId, attempt, ['released'])!.waveId;
  return {
    waveId,
    attempt,
    async picked() {
      await condition(() => progressOf(shipmentId, attempt, ['picked', 'not_picked']) !== undefined);
      const p = progressOf(shipmentId, attempt, ['picked', 'not_picked'])!;
      return p.stage === 'picked'
        ? { picked: true, shortages: p.shortages }
        : { picked: false, reason: p.stage === 'not_picked' ? p.reason : p.stage };
    },
    async labelled() {
      await condition(() => progressOf(shipmentId, attempt, ['labelled', 'label_failed']) !== undefined);
      const p = progressOf(shipmentId, attempt, ['labelled', 'label_failed'])!;
      return p.stage === 'labelled'
        ? { labelled: true, label: p.label }
        : { labelled: false, reason: p.stage === 'label_failed' ? p.reason : p.stage };
    },
  };
}

/** The leave of histories from before Patch.WaveLeaveAnswered: a signal, no answer. */
async function leaveWave(shipment: Pick<ShipmentReady, 'warehouseId' | 'shipmentId'>): Promise<void> {
  if (attempts === 0) return;
  const released = progressOf(shipment.shipmentId, attempts, ['released']);
  if (released) return;
  await getExternalWorkflowHandle(wavesWorkflowId(shipment.warehouseId)).signal(leaveWaveSignal, {
    shipmentId: shipment.shipmentId,
    attempt: attempts,
  });
}

/** What became of a shipment's last join, once it is settled: it left before release, or its wave's answers. */
export type WaveWithdrawal =
  { left: true } | { left: false; waveId: string; pick: PickResult; label: LabelResult | null };

/**
 * The undo of a join (the shipment is cancelled). Not yet told of a release, it asks the waves
 * workflow to let it leave (`leaveWaves`); the answer is either `left` (nothing held) or the wave
 * that released it (the release and the leave crossed). Released, it waits for the wave's answers:
 * the pick, and after a whole pick the label, which the caller voids (`voidWaveLabel`) with the
 * units put back on the shelf. Histories from before Patch.WaveLeaveAnswered signalled the leave
 * and listened up to `graceMs` for a crossing release.
 */
export async function withdrawFromWave(
  shipment: Pick<ShipmentReady, 'warehouseId' | 'shipmentId'>,
  graceMs: number,
): Promise<WaveWithdrawal | null> {
  if (attempts === 0) return null;
  const { shipmentId, warehouseId } = shipment;
  const attempt = attempts;
  const released = () => progressOf(shipmentId, attempt, ['released']) !== undefined;
  let waveId = progressOf(shipmentId, attempt, ['released'])?.waveId;
  if (waveId === undefined && patched(Patch.WaveLeaveAnswered)) {
    const leave = { warehouseId, shipmentId, attempt };
    const answer = await leaving.leaveWaves.executeWithOptions({ summary: activitySummary('leaveWaves', [leave]) }, [
      leave,
    ]);
    if (answer.left) return { left: true };
    waveId = answer.waveId;
  } else if (waveId === undefined) {
    await leaveWave(shipment);
    if (!(await condition(released, graceMs))) return { left: true };
    waveId = progressOf(shipmentId, attempt, ['released'])!.waveId;
  }
  const stage = async (stages: WaveProgress['stage'][]) => {
    await condition(() => progressOf(shipmentId, attempt, stages) !== undefined);
    return progressOf(shipmentId, attempt, stages)!;
  };
  const p = await stage(['picked', 'not_picked']);
  const pick: PickResult =
    p.stage === 'picked'
      ? { picked: true, shortages: p.shortages }
      : { picked: false, reason: p.stage === 'not_picked' ? p.reason : p.stage };
  if (!pick.picked || pick.shortages.length) return { left: false, waveId, pick, label: null };
  const l = await stage(['labelled', 'label_failed']);
  const label: LabelResult =
    l.stage === 'labelled'
      ? { labelled: true, label: l.label }
      : { labelled: false, reason: l.stage === 'label_failed' ? l.reason : l.stage };
  return { left: false, waveId, pick, label };
}
