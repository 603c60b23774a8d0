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
