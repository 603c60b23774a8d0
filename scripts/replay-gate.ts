import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { Client } from '@temporalio/client';
import type { LoadedDataConverter } from '@temporalio/common';
import { historyFromJSON } from '@temporalio/common/lib/proto-utils.js';
import { makeWorkflowExporter } from '@temporalio/interceptors-opentelemetry';
import { Resource } from '@opentelemetry/resources';
import { NoopSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { bundleWorkflowCode, type ReplayWorkerOptions, Worker } from '@temporalio/worker';
import type { temporal } from '@temporalio/proto';
import { workflowInterceptorModules, workflowsPath as sourceWorkflowsPath } from '../workers/create-worker.js';

/**
 * The replay gate (`npm run deploy:check`, docs/operations.md#safe-deploys): a new build's workflow
 * bundle must replay what running orders already did, or the deploy would break them at their next
 * workflow task. It replays the committed histories (test/fixtures/histories, the paths tests
 * recorded) and, against a live cluster, a sample of real histories per workflow type and status.
 */

type History = temporal.api.history.v1.IHistory;

export const committedHistoriesDir = fileURLToPath(new URL('../test/fixtures/histories/', import.meta.url));

/**
 * Committed histories that cannot replay, on purpose. `pre-release/recorded-at-<commit>/` keeps,
 * untouched, the histories that commit recorded before later commits re-recorded them. These few
 * changed commands before the first release (stop 6, 20d7d49) without a patch, so no order of
 * theirs ever ran in production, and the released histories they conflict with win. They stay as
 * proof that replay catches a command change (test/replay.test.ts checks each still fails); the
 * gate leaves them out.
 */
export const CHANGED_BEFORE_THE_FIRST_RELEASE: Record<string, string> = {
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

export interface CommittedHistory {
  /** The path below the histories folder, without `.json` (`order-completed`, `pre-release/recorded-at-cc19e80/order-completed`). */
  name: string;
  json: unknown;
}

/** Every committed history, in every folder below the histories folder, sorted by name. */
export function committedHistories(dir = committedHistoriesDir, prefix = ''): CommittedHistory[] {
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

/** A named set of histories to replay; `workflowId` names each one in the report. */
export interface HistorySource {
  name: string;
  histories: () => AsyncIterable<{ workflowId: string; history: History }>;
}

/** The committed histories that must replay (all but CHANGED_BEFORE_THE_FIRST_RELEASE), each named by its path. */
export function committedSource(dir = committedHistoriesDir): HistorySource {
  return {
    name: 'committed (test/fixtures/histories)',
    async *histories() {
      for (const { name, json } of committedHistories(dir))
        if (!(name in CHANGED_BEFORE_THE_FIRST_RELEASE)) yield { workflowId: name, history: historyFromJSON(json) };
    },
  };
}

/** The statuses visibility knows (`ExecutionStatus = "…"`), open ones first. */
export const EXECUTION_STATUSES = [
  'Running',
  'Completed',
  'Failed',
  'Canceled',
  'Terminated',
  'TimedOut',
  'ContinuedAsNew',
] as const;

/**
 * Histories from a live cluster: up to `perGroup` of the latest runs of each workflow type in each
 * status (running orders matter most: they are the ones the new build will continue).
 */
export function liveSource(client: Client, options: { workflowTypes: string[]; perGroup: number }): HistorySource {
  return {
    name: `live (${client.options.namespace})`,
    async *histories() {
      for (const type of options.workflowTypes)
        for (const status of EXECUTION_STATUSES) {
          let taken = 0;
          const query = `WorkflowType = "${type}" AND ExecutionStatus = "${status}"`;
          for await (const execution of client.workflow.list({ query, pageSize: options.perGroup })) {
            const history = await client.workflow.getHandle(execution.workflowId, execution.runId).fetchHistory();
            yield { workflowId: `${execution.workflowId} (${type}, ${status})`, history };
            if (++taken >= options.perGroup) break;
          }
        }
    },
  };
}

export interface GateReport {
  sources: { name: string; replayed: number; failed: number }[];
  failures: { source: string; workflowId: string; error: string }[];
  ok: boolean;
}

/** The workflow bundle a new worker would run: built from `workflowsPath` (the repository's, unless a copy is checked). */
export async function bundleForGate(workflowsPath = sourceWorkflowsPath) {
  const quiet = () => {};
  return bundleWorkflowCode({
    workflowsPath,
    workflowInterceptorModules,
    logger: { log: quiet, trace: quiet, debug: quiet, info: quiet, warn: quiet, error: console.error },
  });
}

/**
 * Replays every history of every source on the bundle. Each failure (a non-determinism, or any
 * other error replaying) is reported with its source and workflow ID; `ok` only when there is none.
 * `dataConverter`: the one the workers use, when payloads are encoded (a codec).
 */
export async function replayGate(options: {
  workflowBundle: ReplayWorkerOptions['workflowBundle'];
  sources: HistorySource[];
  dataConverter?: ReplayWorkerOptions['dataConverter'] | LoadedDataConverter;
}): Promise<GateReport> {
  const report: GateReport = { sources: [], failures: [], ok: true };
  for (const source of options.sources) {
    const row = { name: source.name, replayed: 0, failed: 0 };
    report.sources.push(row);
    const results = Worker.runReplayHistories(
      {
        workflowBundle: options.workflowBundle,
        // The bundle's OpenTelemetry interceptors export spans through this sink, as on a worker; a replay drops them.
        sinks: { exporter: makeWorkflowExporter(new NoopSpanProcessor(), Resource.empty()) },
        ...(options.dataConverter
          ? { dataConverter: options.dataConverter as ReplayWorkerOptions['dataConverter'] }
          : {}),
      },
      source.histories(),
    );
    for await (const result of results) {
      row.replayed += 1;
      if (!result.error) continue;
      row.failed += 1;
      const error =
        result.error instanceof Error ? `${result.error.name}: ${result.error.message}` : String(result.error);
      report.failures.push({ source: source.name, workflowId: result.workflowId, error });
    }
  }
  report.ok = report.failures.length === 0;
  return report;
}

/** The report as a plain-text table: histories replayed per source, then each failure. */
export function formatReport(report: GateReport): string {
  const width = Math.max(6, ...report.sources.map((s) => s.name.length));
  const lines = [
    `${'source'.padEnd(width)}  replayed  failed`,
    ...report.sources.map(
      (s) => `${s.name.padEnd(width)}  ${String(s.replayed).padStart(8)}  ${String(s.failed).padStart(6)}`,
    ),
  ];
  if (report.failures.length) {
    lines.push('', 'failures:');
    for (const f of report.failures) lines.push(`  ${f.workflowId}  [${f.source}]`, `    ${f.error.split('\n')[0]}`);
  }
  lines.push('', report.ok ? 'deploy:check passed: every history replays on this build' : 'deploy:check FAILED');
  return lines.join('\n');
}
