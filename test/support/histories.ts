import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { historyToJSON } from '@temporalio/common/lib/proto-utils.js';
import type { temporal } from '@temporalio/proto';
import { committedHistoriesDir } from '../../scripts/replay-gate.js';

// Reading them is shared with the replay gate (`npm run deploy:check`).
export { committedHistories, type CommittedHistory } from '../../scripts/replay-gate.js';

export const historiesDir = committedHistoriesDir;

/**
 * Saves a new history for the replay suite; one that exists is left as it is. A committed history
 * is what a running order really did: re-recording it would compare new code with its own output.
 * A path whose commands change gets a new name beside the old one (and the change a `patched()`);
 * a change that reshapes every path records them all again into a folder of their own, named by
 * RECORD_HISTORIES_UNDER (`lean-bookkeeping/order-completed`), beside the older ones.
 */
export function saveHistory(name: string, history: temporal.api.history.v1.IHistory): void {
  const folder = process.env.RECORD_HISTORIES_UNDER
    ? `${historiesDir}${process.env.RECORD_HISTORIES_UNDER}/`
    : historiesDir;
  const file = `${folder}${name}.json`;
  if (existsSync(file)) return;
  mkdirSync(folder, { recursive: true });
  writeFileSync(file, historyToJSON(history));
}
