import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { historyToJSON } from '@temporalio/common/lib/proto-utils.js';
import type { temporal } from '@temporalio/proto';

export const historiesDir = fileURLToPath(new URL('../fixtures/histories/', import.meta.url));

export function saveHistory(name: string, history: temporal.api.history.v1.IHistory): void {
  mkdirSync(historiesDir, { recursive: true });
  writeFileSync(`${historiesDir}${name}.json`, historyToJSON(history));
}

export function committedHistories(): { name: string; json: unknown }[] {
  return readdirSync(historiesDir)
    .filter((file) => file.endsWith('.json'))
    .sort()
    .map((file) => ({ name: file.replace(/\.json$/, ''), json: JSON.parse(readFileSync(`${historiesDir}${file}`, 'utf8')) }));
}
