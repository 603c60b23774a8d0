import { historyFromJSON } from '@temporalio/common/lib/proto-utils.js';
import { Worker } from '@temporalio/worker';
import { describe, expect, it } from 'vitest';
import { committedHistories } from './support/histories.js';
import { workflowBundle } from './support/workers.js';

/**
 * Orders already running in production replay their history on every new worker. These histories,
 * recorded from real runs (RECORD_HISTORIES=1 npm test), must replay without a non-determinism
 * error on the current workflow code; a change that breaks one needs `patched()`.
 */
describe('replay of committed histories', () => {
  const histories = committedHistories();

  it('has histories to replay', () => {
    expect(histories.map((h) => h.name)).toEqual(expect.arrayContaining(['order-completed', 'order-cancelled-free', 'order-cancelled-late', 'order-backordered', 'order-parked-and-retried', 'order-reshipped', 'order-returned']));
  });

  it.each(histories.map((h) => [h.name, h.json] as const))('replays %s', async (name, json) => {
    await Worker.runReplayHistory({ workflowBundle: await workflowBundle() }, historyFromJSON(json), `order-${name}`);
  });
});
