import {
  allHandlersFinished,
  condition,
  continueAsNew,
  ParentClosePolicy,
  setHandler,
  startChild,
  workflowInfo,
} from '@temporalio/workflow';
import { leaveWaveSignal, shipmentReadySignal, wavesViewQuery } from '../domain/messages.js';
import { decideRelease, type ShipmentReady, waveIdOf, type WavePolicy, waveWorkflowId } from '../domain/waves.js';
import { waveBookkeeping } from './proxies.js';
import { waveWorkflow } from './wave.js';

export interface WavesInput {
  warehouseId: string;
  policy: WavePolicy;
  /** Carried across continue-as-new: the shipments still waiting, and the next wave's number. */
  waiting?: ShipmentReady[];
  nextWaveNumber?: number;
  /** `<shipmentId>#<attempt>` of recent joins, so a repeated signal (a retried join) counts once. */
  recentJoins?: string[];
  /** Continue as new past this many history events (default 2000), before the history grows large. */
  historyLimit?: number;
}

const RECENT_JOINS_KEPT = 2000;

/**
 * The waves of one warehouse (`waves-<warehouseId>`), long-running, fed by signal-with-start from
 * shipments ready to pick (`shipmentReady`). It holds them and, by the pure rule of domain/waves.ts,
 * releases waves (size, the oldest's wait, a carrier's cut-off, urgent alone) with a timer for the
 * next moment the rule can fire; each released wave runs as a child workflow `wave-<waveId>` that
 * outlives this run. The shipments waiting form the `open` wave in the `waves` table. Before its
 * history grows large it continues as new, carrying the waiting shipments and the wave count (the
 * open waves run on in their own workflows).
 */
export async function wavesWorkflow(input: WavesInput): Promise<void> {
  const { warehouseId, policy } = input;
  const waiting = new Map((input.waiting ?? []).map((s) => [s.shipmentId, s]));
  let nextWaveNumber = input.nextWaveNumber ?? 1;
  const recentJoins = input.recentJoins ?? [];
  const joined = new Set(recentJoins);
  let changes = 0;
  let recordedChanges = input.waiting?.length ? -1 : 0;

  setHandler(shipmentReadySignal, (ready) => {
    const key = `${ready.shipmentId}#${ready.attempt}`;
    if (joined.has(key)) return;
    joined.add(key);
    recentJoins.push(key);
    if (recentJoins.length > RECENT_JOINS_KEPT) joined.delete(recentJoins.shift()!);
    waiting.set(ready.shipmentId, ready);
    changes++;
  });
  setHandler(leaveWaveSignal, ({ shipmentId, attempt }) => {
    if (waiting.get(shipmentId)?.attempt !== attempt) return;
    waiting.delete(shipmentId);
    changes++;
  });
  setHandler(wavesViewQuery, () => ({
    warehouseId,
    openWaveId: waveIdOf(warehouseId, nextWaveNumber),
    waiting: [...waiting.values()],
  }));

  for (;;) {
    const considered = changes;
    const decision = decideRelease([...waiting.values()], Date.now(), policy);
    for (const release of decision.waves) {
      const waveId = waveIdOf(warehouseId, nextWaveNumber++);
      const shipments = release.shipmentIds.map((id) => waiting.get(id)!);
      for (const id of release.shipmentIds) waiting.delete(id);
      await startChild(waveWorkflow, {
        workflowId: waveWorkflowId(waveId),
        args: [{ waveId, warehouseId, reason: release.reason, shipments, policy }],
        // A wave finishes its work whatever happens to this run (continue-as-new included).
        parentClosePolicy: ParentClosePolicy.ABANDON,
      });
    }
    if (recordedChanges !== changes || decision.waves.length) {
      recordedChanges = changes;
      await waveBookkeeping.recordWave({
        waveId: waveIdOf(warehouseId, nextWaveNumber),
        warehouseId,
        status: 'open',
        shipments: [...waiting.values()],
      });
    }
    const info = workflowInfo();
    if (info.continueAsNewSuggested || info.historyLength > (input.historyLimit ?? 2000)) {
      await condition(allHandlersFinished);
      await continueAsNew<typeof wavesWorkflow>({
        ...input,
        waiting: [...waiting.values()],
        nextWaveNumber,
        recentJoins,
      });
    }
    if (changes !== considered) continue;
    const changed = () => changes !== considered;
    if (decision.nextCheckAt === null) await condition(changed);
    else await condition(changed, Math.max(1, decision.nextCheckAt - Date.now()), { summary: 'next wave release' });
  }
}
