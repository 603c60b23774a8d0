import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { historyToJSON } from '@temporalio/common/lib/proto-utils.js';
import type { temporal } from '@temporalio/proto';

export const historiesDir = fileURLToPath(new URL('../fixtures/histories/', import.meta.url));

/**
 * Saves a new history for the replay suite; one that exists is left as it is. A committed history
 * is what a running order really did: re-recording it would compare new code with its own output.
 * A path whose commands change gets a new name beside the old one (and the change a `patched()`).
 */
export function saveHistory(name: string, history: temporal.api.history.v1.IHistory): void {
  const file = `${historiesDir}${name}.json`;
  if (existsSync(file)) return;
  mkdirSync(historiesDir, { recursive: true });
  writeFileSync(file, historyToJSON(history));
}

export interface CommittedHistory {
  /** The path below the histories folder, without `.json` (`order-completed`, `pre-release/recorded-at-cc19e80/order-completed`). */
  name: string;
  json: unknown;
}

/** Every committed history, in every folder below fixtures/histories, sorted by name. */
export function committedHistories(dir = historiesDir, prefix = ''): CommittedHistory[] {
  return readdirSync(dir, { withFileTypes: true })
    .sort((a, b) => a.name.localeCompare(b.name))
    .flatMap((entry) => {
      if (entry.isDirectory()) return committedHistories(`${dir}${entry.name}/`, `${prefix}${entry.name}/`);
      if (!entry.name.endsWith('.json')) return [];
      return [
        {
          name: `${prefix}${entry.name.replace(/\.json$/, '')}`,
          json: JSON.parse(readFileSync(`${dir}${entry.name}`, 'utf8')),
        },
      ];
    });
}
