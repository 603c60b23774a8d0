import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { WorkflowNotFoundError } from '@temporalio/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkInvariants } from '../db/invariants.js';
import type { OrderPolicy } from '../domain/order.js';
import { TEST_CARRIER_SECRET, TEST_KEYS } from './support/credentials.js';
import { PRODUCTION_POLICY } from './support/orders.js';
import { type Observed, startSystem, type System } from './support/system.js';

/**
 * Schemathesis (scripts/install-tools.sh pins it into .tools/) fuzzes the live API from its own
 * /openapi.json, as an admin: no 5xx, every status, content type, header and body as documented,
 * schema-violating requests refused, auth not ignored, unknown methods 405. Its stateful phase
 * follows the document's links (an order placed, then read, cancelled, retried, returned).
 * Afterwards the ledger invariants hold and no workflow exists for an order that was refused.
 */
const schemathesis = fileURLToPath(new URL('../.tools/schemathesis/bin/schemathesis', import.meta.url));
/**
 * The run is derandomized (`--generation-deterministic` with `--seed`): one seed, one set of test
 * cases, so a failure replays. CI and a plain `npm test` use `DEFAULT_SEED`; `FUZZ_SEED=<n>` replays
 * a printed seed or explores another. `FUZZ_MAX_EXAMPLES` (per operation) is fixed the same way;
 * kept small for two cores.
 */
const DEFAULT_SEED = 20_251_201;
const DEFAULT_MAX_EXAMPLES = 100;
const SEED = integerFromEnv('FUZZ_SEED', DEFAULT_SEED);
const MAX_EXAMPLES = integerFromEnv('FUZZ_MAX_EXAMPLES', DEFAULT_MAX_EXAMPLES);
// A bound on a hung run, not a speed target: 27 operations take about 110 s on two idle cores and
// more than twice that when the machine is shared, so the bound leaves room for both.
const TIME_LIMIT_MS = 360_000;

const CHECKS = [
  'not_a_server_error',
  'status_code_conformance',
  'content_type_conformance',
  'response_headers_conformance',
  'response_schema_conformance',
  'negative_data_rejection',
  'ignored_auth',
  'unsupported_method',
];

function integerFromEnv(name: string, fallback: number): number {
  const text = process.env[name];
  if (text === undefined || text === '') return fallback;
  if (!/^\d+$/.test(text)) throw new Error(`${name} must be a non-negative integer, not ${JSON.stringify(text)}`);
  return Number(text);
}

let system: System;
const answers: Observed[] = [];
const policy: OrderPolicy = {
  ...PRODUCTION_POLICY,
  cancellationBuffer: '2s',
  returnWindow: '5s',
  warehouseTaskSla: '1m',
};

beforeAll(async () => {
  system = await startSystem({ policy, observe: (answer) => answers.push(answer) });
});

afterAll(async () => {
  await system?.stop();
});

/** Signs carrier webhooks during the run, so the fuzzing gets past their door too. */
const hooks = fileURLToPath(new URL('./support/schemathesis_hooks.py', import.meta.url));

function run(command: string, args: string[], cwd: string): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve, reject) => {
    const env = {
      ...process.env,
      NO_COLOR: '1',
      SCHEMATHESIS_HOOKS: hooks,
      CARRIER_WEBHOOK_SECRET: TEST_CARRIER_SECRET,
    };
    const child = spawn(command, args, { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    const timer = setTimeout(() => child.kill('SIGTERM'), TIME_LIMIT_MS);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, output });
    });
  });
}

describe('fuzzing against the contract', () => {
  it(
    'finds no 5xx and no answer outside the OpenAPI document; the ledger holds and refused orders started nothing',
    async () => {
      if (!existsSync(schemathesis))
        throw new Error(`${schemathesis} is missing: run bash scripts/install-tools.sh schemathesis (npm test does)`);
      console.info(
        `schemathesis: seed ${SEED} (replay with FUZZ_SEED=${SEED}), ${MAX_EXAMPLES} examples per operation`,
      );
      const workdir = mkdtempSync(join(tmpdir(), 'schemathesis-'));
      try {
        const { code, output } = await run(
          schemathesis,
          [
            'run',
            `${system.baseUrl}/openapi.json`,
            '--checks',
            CHECKS.join(','),
            '--max-examples',
            String(MAX_EXAMPLES),
            '--seed',
            String(SEED),
            // Derandomized: with --seed, every draw follows from the seed (and no example database is kept).
            '--generation-deterministic',
            '--phases',
            'examples,coverage,fuzzing,stateful',
            // One worker: hypothesis' lambda descriptions call ast.parse, which CPython 3.11 cannot run in two threads at once.
            '--workers',
            '1',
            '--request-timeout',
            '40',
            '--suppress-health-check',
            'too_slow,filter_too_much',
            '--header',
            `Authorization: Bearer ${TEST_KEYS.admin}`,
            '--no-color',
          ],
          workdir,
        );
        const summary = output
          .split('\n')
          .filter((line) => /(Examples|Coverage|Fuzzing|Stateful) \(in|passed|failed|error|generated|Seed/i.test(line))
          // Schemathesis says so whenever deterministic mode is on, though an explicit --seed still seeds it.
          .filter((line) => !/Seed: not used in the deterministic mode/.test(line))
          .slice(0, 12);
        console.info(
          `schemathesis (seed ${SEED}, ${MAX_EXAMPLES} examples per operation), ${answers.length} requests:\n${summary.join('\n')}`,
        );
        expect(code, output.slice(-6000)).toBe(0);
      } finally {
        rmSync(workdir, { recursive: true, force: true });
      }

      expect(answers.filter((answer) => answer.status >= 500)).toEqual([]);

      // Orders the API accepted, and order IDs it refused every time.
      const placed = answers.filter((a) => a.method === 'POST' && a.path === '/orders');
      const orderIdOf = (a: Observed) =>
        a.body && typeof a.body === 'object' && typeof (a.body as { orderId?: unknown }).orderId === 'string'
          ? (a.body as { orderId: string }).orderId
          : null;
      const accepted = new Set(
        placed
          .filter((a) => a.status < 300)
          .map(orderIdOf)
          .filter((id): id is string => id !== null),
      );
      const refused = new Set(
        placed
          .filter((a) => a.status >= 400)
          .map(orderIdOf)
          .filter((id): id is string => id !== null && !accepted.has(id)),
      );
      console.info(
        `POST /orders: ${placed.length} requests, ${accepted.size} orders accepted, ${refused.size} order IDs refused`,
      );
      expect(placed.length).toBeGreaterThan(0);

      for (const orderId of [...refused].slice(0, 200)) {
        await expect(
          system.env.client.workflow.getHandle(`order-${orderId}`).describe(),
          orderId,
        ).rejects.toBeInstanceOf(WorkflowNotFoundError);
      }
      // And every workflow on this server belongs to an order the API accepted (an order's, or one of its shipments').
      const workflowIds: string[] = [];
      for await (const execution of system.env.client.workflow.list()) workflowIds.push(execution.workflowId);
      const orderOf = (id: string) => id.replace(/^order-/, '').replace(/^shipment-(.*)-\d+$/, '$1');
      expect(workflowIds.filter((id) => !accepted.has(orderOf(id)))).toEqual([]);

      expect(await checkInvariants(system.db, { orderIds: [...accepted] })).toEqual([]);
    },
    TIME_LIMIT_MS + 60_000,
  );
});
