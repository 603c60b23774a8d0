import {
  allHandlersFinished,
  condition,
  continueAsNew,
  ParentClosePolicy,
  setHandler,
  startChild,
  workflowInfo,
} from '@temporalio/workflow';
import { leaveWaveSignal, leaveWaveUpdate, shipmentReadySignal, wavesViewQuery } from '../domain/messages.js';
import {
  decideRelease,
  type ShipmentReady,
  waveIdOf,
  type WaveLeave,
  type WavePolicy,
  waveWorkflowId,
} from '../domain/waves.js';
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
  /** `[<shipmentId>#<attempt>, waveId]` of recent releases, so a leave that comes after the release names the wave. */
  recentReleases?: [string, string][];
  /** Continue as new past this many history events (default 2000), before the history grows large. */
  historyLimit?: number;
}

const RECENT_JOINS_KEPT = 2000;
const RECENT_RELEASES_KEPT = 2000;

/**
 * The waves of one warehouse (`waves-<warehouseId>`), long-running, fed by signal-with-start from
 * shipments ready to pick (`shipmentReady`). It holds them and, by the pure rule of domain/waves.ts,
 * releases waves (size, the oldest's wait, a carrier's cut-off, urgent alone) with a timer for the
 * next moment the rule can fire; each released wave runs as a child workflow `wave-<waveId>` that
 * outlives this run. The shipments waiting form the `open` wave in the `waves` table. Before its
 * history grows large it continues as new, carrying the waiting shipments and the wave count (the
 * open waves run on in their own workflows). A cancelled shipment leaves by the `leaveWave` update,
 * answered from what this workflow holds: out of the waiting, or the wave that released it.
 */
export async function wavesWorkflow(input: WavesInput): Promise<void> {
  const { warehouseId, policy } = input;
  const waiting = new Map((input.waiting ?? []).map((s) => [s.shipmentId, s]));
  let nextWaveNumber = input.nextWaveNumber ?? 1;
  const recentJoins = input.recentJoins ?? [];
  const joined = new Set(recentJoins);
  const recentReleases = input.recentReleases ?? [];
  const releasedIn = new Map(recentReleases);
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
  /** Takes a shipment (this attempt) out if it still waits; else names the wave that released it. */
  const leave = ({ shipmentId, attempt }: { shipmentId: string; attempt: number }): WaveLeave => {
    const key = `${shipmentId}#${attempt}`;
    const waveId = releasedIn.get(key);
    if (waveId) return { left: false, waveId };
    if (waiting.get(shipmentId)?.attempt === attempt) {
      waiting.delete(shipmentId);
      changes++;
    } else if (!joined.has(key)) {
      // A leave ahead of its join (the join's retry still in flight): the join, when it comes, counts as done.
      joined.add(key);
      recentJoins.push(key);
      if (recentJoins.length > RECENT_JOINS_KEPT) joined.delete(recentJoins.shift()!);
    }
    return { left: true };
  };
  setHandler(leaveWaveUpdate, leave);
  setHandler(leaveWaveSignal, (shipment) => void leave(shipment));
  setHandler(wavesViewQuery, () => ({
    warehouseId,
    openWaveId: waveIdOf(warehouseId, nextWaveNumber),
    waiting: [...waiting.values()],
  }));

  for (;;) {
    const considered = changes;
    const decision = decideRelease([...waiting.values()], Date.now(), policy);
    for (const release of decision.waves) {
      // A leave handled while an earlier wave of this decision started took its shipment out.
      const shipments = release.shipmentIds.flatMap((id) => waiting.get(id) ?? []);
      if (!shipments.length) continue;
      const waveId = waveIdOf(warehouseId, nextWaveNumber++);
      for (const s of shipments) {
        waiting.delete(s.shipmentId);
        // Remembered before the wave starts: a leave handled meanwhile is answered with this wave.
        const key = `${s.shipmentId}#${s.attempt}`;
        releasedIn.set(key, waveId);
        recentReleases.push([key, waveId]);
        if (recentReleases.length > RECENT_RELEASES_KEPT) releasedIn.delete(recentReleases.shift()![0]);
      }
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
        recentReleases,
      });
    }
    if (changes !== considered) continue;
    const changed = () => changes !== considered;
    if (decision.nextCheckAt === null) await condition(changed);
    else await condition(changed, Math.max(1, decision.nextCheckAt - Date.now()), { summary: 'next wave release' });
  }
}
