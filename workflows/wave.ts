import { ActivityFailure, condition, getExternalWorkflowHandle, log, setHandler } from '@temporalio/workflow';
import { durationMs } from '../domain/durations.js';
import { wavePickAnswerSignal, waveProgressSignal } from '../domain/messages.js';
import type { WarehouseEvent } from '../domain/schemas.js';
import {
  byPriority,
  type PickZone,
  type ShipmentReady,
  type WaveLabel,
  type WavePolicy,
  type WaveProgress,
  type WaveReason,
} from '../domain/waves.js';
import { waveBookkeeping, waveSteps } from './proxies.js';

export interface WaveInput {
  waveId: string;
  warehouseId: string;
  reason: WaveReason;
  /** In pick priority (domain/waves.ts `decideRelease`). */
  shipments: ShipmentReady[];
  policy: WavePolicy;
}

export interface WaveOutcome {
  waveId: string;
  pickList: PickZone[];
  picked: string[];
  short: string[];
  unanswered: string[];
  /** Shipment IDs in print order, with their labels. */
  labels: { shipmentId: string; label: WaveLabel }[];
}

/**
 * One released wave (`wave-<waveId>`, started by its warehouse's `waves-<warehouseId>`): tells its
 * shipments they are in it, hands the warehouse one batch pick, passes each shipment its own answer
 * as it comes (a short pick is the shipment's to handle), asks again for the unanswered after the
 * pick SLA and gives up on them after the last attempt, then buys the labels of the fully picked in
 * one batch in priority order and hands each shipment its label. Its status is written to the
 * `waves` table at each step.
 */
export async function waveWorkflow(input: WaveInput): Promise<WaveOutcome> {
  const { waveId, warehouseId, shipments, policy } = input;
  const answers = new Map<string, WarehouseEvent>();
  const members = new Set(shipments.map((s) => s.shipmentId));
  setHandler(wavePickAnswerSignal, (event) => {
    // A repeat (the warehouse retried) or an answer for a shipment not in this wave changes nothing.
    if (event.shipmentId && members.has(event.shipmentId) && !answers.has(event.shipmentId))
      answers.set(event.shipmentId, event);
  });

  const tell = async (shipment: ShipmentReady, progress: WaveProgress) => {
    try {
      await getExternalWorkflowHandle(shipment.workflowId).signal(waveProgressSignal, progress);
    } catch (error) {
      // The shipment's workflow is gone (its order closed): nobody waits for this answer.
      log.warn('a shipment of the wave is gone', { waveId, shipmentId: shipment.shipmentId, error: String(error) });
    }
  };
  const about = (s: ShipmentReady) => ({ shipmentId: s.shipmentId, attempt: s.attempt, waveId });

  await waveBookkeeping.recordWave({ waveId, warehouseId, status: 'released', reason: input.reason, shipments });
  for (const s of shipments) await tell(s, { ...about(s), stage: 'released' });

  // The batch pick; each answer goes on to its shipment at once.
  let pickList: PickZone[] = [];
  const told = new Set<string>();
  const passOnAnswers = async () => {
    for (const s of shipments) {
      const answer = answers.get(s.shipmentId);
      if (!answer || told.has(s.shipmentId)) continue;
      told.add(s.shipmentId);
      await tell(s, { ...about(s), stage: 'picked', shortages: answer.shortages ?? [] });
    }
  };
  const unanswered = () => shipments.filter((s) => !answers.has(s.shipmentId));
  for (let attempt = 1; attempt <= policy.pickAttempts && unanswered().length; attempt++) {
    const asked = attempt === 1 ? shipments : unanswered();
    const list = await waveSteps.requestWavePick({
      taskId: `${waveId}-pick-${attempt}`,
      waveId,
      warehouseId,
      shipments: asked,
    });
    if (attempt === 1) pickList = list;
    const deadline = Date.now() + durationMs(policy.pickSla);
    while (unanswered().length && Date.now() < deadline) {
      const known = answers.size;
      await condition(() => answers.size > known, deadline - Date.now(), {
        summary: `batch pick SLA (attempt ${attempt})`,
      });
      await passOnAnswers();
    }
    await passOnAnswers();
  }
  const silent = unanswered();
  for (const s of silent)
    await tell(s, {
      ...about(s),
      stage: 'not_picked',
      reason: `the warehouse did not answer the batch pick after ${policy.pickAttempts} attempts`,
    });
  const complete = shipments.filter((s) => answers.has(s.shipmentId) && !answers.get(s.shipmentId)!.shortages?.length);
  const short = shipments.filter((s) => answers.get(s.shipmentId)?.shortages?.length);
  await waveBookkeeping.recordWave({
    waveId,
    warehouseId,
    status: 'picked',
    picks: [
      ...complete.map((s) => ({ shipmentId: s.shipmentId, status: 'picked' as const })),
      ...short.map((s) => ({
        shipmentId: s.shipmentId,
        status: 'short' as const,
        shortages: answers.get(s.shipmentId)!.shortages,
      })),
      ...silent.map((s) => ({ shipmentId: s.shipmentId, status: 'unanswered' as const })),
    ],
  });

  // Labels for what was picked whole, bought in one batch and printed in priority order.
  const printOrder = [...complete].sort(byPriority);
  const labels: WaveOutcome['labels'] = [];
  if (printOrder.length) {
    try {
      const bought = await waveSteps.buyWaveLabels({ waveId, warehouseId, shipments: printOrder });
      printOrder.forEach((s, i) => labels.push({ shipmentId: s.shipmentId, label: bought[i]! }));
    } catch (error) {
      if (!(error instanceof ActivityFailure)) throw error;
      const reason = error.cause?.message ?? error.message;
      for (const s of printOrder) await tell(s, { ...about(s), stage: 'label_failed', reason });
    }
    for (const [i, { label }] of labels.entries())
      await tell(printOrder[i]!, { ...about(printOrder[i]!), stage: 'labelled', label });
  }
  await waveBookkeeping.recordWave({ waveId, warehouseId, status: 'closed' });
  return {
    waveId,
    pickList,
    picked: complete.map((s) => s.shipmentId),
    short: short.map((s) => s.shipmentId),
    unanswered: silent.map((s) => s.shipmentId),
    labels,
  };
}
