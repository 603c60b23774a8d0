import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { historyFromJSON } from '@temporalio/common/lib/proto-utils.js';
import { DeterminismViolationError } from '@temporalio/workflow';
import { Worker } from '@temporalio/worker';
import { describe, expect, it } from 'vitest';
import { committedHistories } from './support/histories.js';
import { workflowBundle } from './support/workers.js';

/**
 * Orders already running replay their history on every new worker. These histories, recorded from
 * real runs (RECORD_HISTORIES=1 with a new history name), must replay without a non-determinism
 * error on the current workflow code; a change of commands goes behind `patched()`.
 *
 * `pre-release/recorded-at-<commit>/` keeps, untouched, the histories that commit recorded before
 * later commits re-recorded them. The few below cannot replay: their commands changed before the
 * first release (stop 6, 20d7d49) without a patch, so no order of theirs ever ran in production, and
 * the released histories they conflict with win. They stay as proof that this suite catches a
 * command change: each must still fail with a determinism error.
 */
const CHANGED_BEFORE_THE_FIRST_RELEASE: Record<string, string> = {
  'pre-release/recorded-at-4233432/order-backordered':
    'tracking and the return window (924f0f5) replaced the 30-day timer after shipping',
  'pre-release/recorded-at-4233432/order-completed':
    'tracking and the return window (924f0f5) replaced the 30-day timer after shipping',
  'pre-release/recorded-at-4233432/order-parked-and-retried':
    'tracking and the return window (924f0f5) replaced the 30-day timer after shipping',
  'pre-release/recorded-at-4233432/order-repacked':
    'tracking and the return window (924f0f5) replaced the 30-day timer after shipping',
  'pre-release/recorded-at-4233432/order-short-pick':
    'tracking and the return window (924f0f5) replaced the 30-day timer after shipping',
  'pre-release/recorded-at-cc19e80/order-reshipped':
    'a reship asks for new warehouse task IDs (1395fc3), released as the only behaviour',
  'pre-release/recorded-at-87f5495/order-reshipped':
    'a reship asks for new warehouse task IDs (1395fc3), released as the only behaviour',
};

const histories = committedHistories();
const replayable = histories.filter((h) => !(h.name in CHANGED_BEFORE_THE_FIRST_RELEASE));

async function replay(name: string, json: unknown): Promise<void> {
  await Worker.runReplayHistory(
    { workflowBundle: await workflowBundle() },
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
