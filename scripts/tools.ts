import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const toolsBin = fileURLToPath(new URL('../.tools/py/bin/', import.meta.url));

/**
 * Where the Temporal binaries are: `TEMPORAL_CLI_PATH` / `TEMPORAL_TEST_SERVER_PATH`, else the
 * project-local install (scripts/install-tools.sh). Undefined lets the SDK download them itself,
 * which works only with internet access.
 */
export function temporalCliPath(): string | undefined {
  return pick(process.env.TEMPORAL_CLI_PATH, `${toolsBin}temporal`);
}

export function temporalTestServerPath(): string | undefined {
  return pick(process.env.TEMPORAL_TEST_SERVER_PATH, `${toolsBin}temporal-test-server`);
}

function pick(override: string | undefined, local: string): string | undefined {
  if (override) return override;
  return existsSync(local) ? local : undefined;
}

export function executable(path: string | undefined) {
  return path ? ({ type: 'existing-path', path } as const) : undefined;
}

/**
 * Dynamic configuration every Temporal server of ours runs with (`--dynamic-config-value` for the
 * CLI dev server; deploy/temporal/dynamicconfig.yaml says the same for the Go-built server and
 * docker-compose). `matching.useNewMatcher` is the matcher that serves backlogged tasks by
 * `priorityKey` (domain/priority.ts); it is the default in newer servers and off by default in
 * 1.29, so it is set everywhere rather than left to the version.
 */
export const TEMPORAL_DYNAMIC_CONFIG: Record<string, string> = { 'matching.useNewMatcher': 'true' };

/** `TEMPORAL_DYNAMIC_CONFIG` as CLI dev server arguments. */
export function devServerDynamicConfigArgs(): string[] {
  return Object.entries(TEMPORAL_DYNAMIC_CONFIG).flatMap(([key, value]) => [
    '--dynamic-config-value',
    `${key}=${value}`,
  ]);
}
