import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { historyFromJSON } from '@temporalio/common/lib/proto-utils.js';
import { DeterminismViolationError } from '@temporalio/workflow';
import { Worker } from '@temporalio/worker';
import { describe, expect, it } from 'vitest';
import { CHANGED_BEFORE_THE_FIRST_RELEASE } from '../scripts/replay-gate.js';
import { committedHistories } from './support/histories.js';
import { workflowBundle } from './support/workers.js';
import { testDataConverter } from './support/credentials.js';

/**
 * Orders already running replay their history on every new worker. These histories, recorded from
 * real runs (RECORD_HISTORIES=1 with a new history name), must replay without a non-determinism
 * error on the current workflow code; a change of commands goes behind `patched()`. The few in
 * CHANGED_BEFORE_THE_FIRST_RELEASE (scripts/replay-gate.ts says why) must still fail: proof that
 * replay catches a command change. `npm run deploy:check` replays the same histories before a deploy.
 */
const histories = committedHistories();
const replayable = histories.filter((h) => !(h.name in CHANGED_BEFORE_THE_FIRST_RELEASE));

/**
 * Replayed as workers run: with the payload codec (config/temporal.ts). These histories were
 * recorded before payloads were encrypted; the codec passes their payloads through.
 */
async function replay(name: string, json: unknown): Promise<void> {
  await Worker.runReplayHistory(
    { workflowBundle: await workflowBundle(), dataConverter: testDataConverter },
    historyFromJSON(json),
    `order-${name.replaceAll('/', '-')}`,
  );
}

describe('replay of committed histories', () => {
  it('has histories of every path to replay, and the untouched ones from before each re-recording', () => {
    const names = histories.map((h) => h.name);
    expect(names).toEqual(
      expect.arrayContaining([
        'order-completed',
        'order-cancelled-free',
        'order-cancelled-late',
        'order-backordered',
        'order-parked-and-retried',
        'order-reshipped',
        'order-returned',
        // Shipments as child workflows: the order's history and each shipment's.
        'order-shipments-single-warehouse',
        'order-shipments-single-warehouse.shipment-1',
        'order-shipments-split',
        'order-shipments-split.shipment-1',
        'order-shipments-split.shipment-2',
        'order-shipments-cancelled-in-buffer',
        'order-shipments-short-pick',
        'order-shipments-short-pick.shipment-1',
        // Shipments picked and labelled in waves (Patch.ShipmentsPickedInWaves).
        'order-shipments-picked-in-wave',
        'order-shipments-picked-in-wave.shipment-1',
        'order-shipments-wave-cancelled-waiting.shipment-1',
        'order-shipments-wave-cancelled-after-label.shipment-1',
        'order-shipments-wave-short-pick.shipment-1',
        // A cancelled shipment leaves on the waves workflow's answer (Patch.WaveLeaveAnswered).
        'order-shipments-wave-left-on-answer.shipment-1',
        'order-shipments-wave-cancelled-on-release.shipment-1',
        // Patch.LeanBookkeeping: every path again, as orders run since.
        'lean-bookkeeping/order-completed',
        'lean-bookkeeping/order-completed.shipment-1',
        'lean-bookkeeping/order-shipments-split',
        'lean-bookkeeping/order-cancelled-late',
        'lean-bookkeeping/order-parked-and-retried',
        'lean-bookkeeping/order-returned',
        // Patch.FeedbackInOutbox: every path again (the feedback request scheduled, the first three steps as one).
        'feedback-in-outbox/order-completed',
        'feedback-in-outbox/order-completed.shipment-1',
        'feedback-in-outbox/order-shipments-split',
        'feedback-in-outbox/order-backordered',
        'feedback-in-outbox/order-payment-declined',
        'feedback-in-outbox/order-cancelled-free',
        'feedback-in-outbox/order-returned',
        // Patch.LoneShipmentInOrder: every path again (a lone shipment inside the order's history; a split's children).
        'lone-shipment-in-order/order-completed',
        'lone-shipment-in-order/order-shipments-split',
        'lone-shipment-in-order/order-shipments-split.shipment-1',
        'lone-shipment-in-order/order-backordered',
        'lone-shipment-in-order/order-cancelled-late',
        'lone-shipment-in-order/order-cancelled-in-temporal-web',
        'lone-shipment-in-order/order-parked-and-retried',
        'lone-shipment-in-order/order-undo-parked-and-retried',
        'lone-shipment-in-order/order-reshipped',
        'lone-shipment-in-order/order-returned',
        'lone-shipment-in-order/order-shipments-picked-in-wave',
        'lone-shipment-in-order/order-shipments-wave-left-on-answer',
        // Patch.SharedTimerAndWrites: every path again (one timer for a shipment's deadlines; its steps carry the order's writes).
        'shared-timer-and-writes/order-completed',
        'shared-timer-and-writes/order-shipments-split',
        'shared-timer-and-writes/order-shipments-split.shipment-1',
        'shared-timer-and-writes/order-shipments-split.shipment-2',
        'shared-timer-and-writes/order-backordered',
        'shared-timer-and-writes/order-cancelled-late',
        'shared-timer-and-writes/order-cancelled-in-temporal-web',
        'shared-timer-and-writes/order-parked-and-retried',
        'shared-timer-and-writes/order-undo-parked-and-retried',
        'shared-timer-and-writes/order-reshipped',
        'shared-timer-and-writes/order-repacked',
        'shared-timer-and-writes/order-pack-late-on-one-timer',
        'shared-timer-and-writes/order-returned',
        'shared-timer-and-writes/order-shipments-picked-in-wave',
        'shared-timer-and-writes/order-shipments-wave-left-on-answer',
      ]),
    );
    for (const commit of ['4233432', 'cc19e80', '87f5495'])
      expect(names.some((name) => name.startsWith(`pre-release/recorded-at-${commit}/`))).toBe(true);
    expect(Object.keys(CHANGED_BEFORE_THE_FIRST_RELEASE).every((name) => names.includes(name))).toBe(true);
  });

  it.each(replayable.map((h) => [h.name, h.json] as const))('replays %s', async (name, json) => {
    await replay(name, json);
  });

  it.each(Object.entries(CHANGED_BEFORE_THE_FIRST_RELEASE))(
    'still detects the unpatched change in %s (%s)',
    async (name) => {
      const history = histories.find((h) => h.name === name)!;
      await expect(replay(name, history.json)).rejects.toBeInstanceOf(DeterminismViolationError);
    },
  );
});

/**
 * Committed histories are only ever added. Every commit since the one that brought this rule in
 * (and the working tree) may add a history but never modify or delete one.
 */
describe('committed histories are never re-recorded', () => {
  const root = fileURLToPath(new URL('../', import.meta.url));
  const git = (...args: string[]) => execFileSync('git', args, { cwd: root, encoding: 'utf8' }).trim();
  const folder = 'test/fixtures/histories';

  it('no commit since the rule modified or deleted a committed history, and neither does the working tree', () => {
    const since = git('log', '--diff-filter=A', '--format=%H', '--', 'test/replay-guard.marker').split('\n').at(-1);
    expect(since, 'test/replay-guard.marker was committed (git history available)').toMatch(/^[0-9a-f]{40}$/);
    expect(git('log', '--no-renames', '--diff-filter=MD', '--format=%h %s', `${since}..HEAD`, '--', folder)).toBe('');
    expect(git('diff', '--no-renames', '--diff-filter=MD', '--name-only', 'HEAD', '--', folder)).toBe('');
  });
});
