import { parseArgs } from 'node:util';
import { Client, Connection } from '@temporalio/client';
import { DefaultLogger, Runtime } from '@temporalio/worker';
import { config } from '../config/index.js';
import { temporalConnectConfig } from '../config/temporal.js';
import {
  bundleForGate,
  committedSource,
  formatReport,
  type HistorySource,
  liveSource,
  replayGate,
} from './replay-gate.js';

/**
 * `npm run deploy:check [-- --address host:port] [--namespace ns] [--per-group 20] [--bundle dist/workflow-bundle.js]`
 *
 * The pre-deploy gate: replays the committed histories and, with `--address` (or TEMPORAL_ADDRESS
 * and `--live`), a sample of a live cluster's histories per workflow type and status, on the
 * workflow bundle the new worker would run (built from the source here, or the one `--bundle`
 * names). Prints a table; exits 1 on any failure. See docs/operations.md#safe-deploys.
 */
const { values } = parseArgs({
  options: {
    address: { type: 'string' },
    namespace: { type: 'string' },
    live: { type: 'boolean', default: false },
    'per-group': { type: 'string', default: '20' },
    bundle: { type: 'string' },
  },
});
const perGroup = Number(values['per-group']);
if (!Number.isInteger(perGroup) || perGroup < 1) {
  process.stderr.write(`--per-group: a whole number of at least 1, not ${values['per-group']}\n`);
  process.exit(2);
}

// The replay workers' own lifecycle lines would bury the table.
Runtime.install({ logger: new DefaultLogger('WARN') });
const settings = config();
// `--bundle dist/workflow-bundle.js`: the very artifact `npm run build` made for the image.
const bundle = values.bundle ? { codePath: values.bundle } : await bundleForGate();
const sources: HistorySource[] = [committedSource()];
let connection: Connection | undefined;
if (values.address || values.live) {
  // Connected the way every process of the engine connects (config/temporal.ts).
  const { connectionOptions, namespace } = temporalConnectConfig({
    ...settings,
    TEMPORAL_ADDRESS: values.address ?? settings.TEMPORAL_ADDRESS,
    TEMPORAL_NAMESPACE: values.namespace ?? settings.TEMPORAL_NAMESPACE,
  });
  connection = await Connection.connect(connectionOptions);
  const workflowTypes = Object.keys(await import('../workflows/index.js'));
  sources.push(liveSource(new Client({ connection, namespace }), { workflowTypes, perGroup }));
}
try {
  const report = await replayGate({ workflowBundle: bundle, sources });
  process.stdout.write(`${formatReport(report)}\n`);
  process.exitCode = report.ok ? 0 : 1;
} finally {
  await connection?.close();
}
