import type { DataConverter } from '@temporalio/common';
import proto from '@temporalio/proto';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { DefaultLogger, Runtime } from '@temporalio/worker';
import { ORDER_SEARCH_ATTRIBUTES } from '../../domain/search-attributes.js';
import {
  devServerDynamicConfigArgs,
  executable,
  temporalCliPath,
  temporalTestServerPath,
} from '../../scripts/tools.js';

const { temporal } = proto;

let runtimeInstalled = false;

/** Runtime.install may run once per process; tests keep the SDK quiet except for real problems. */
function quietRuntime(): void {
  if (runtimeInstalled) return;
  Runtime.install({ logger: new DefaultLogger('ERROR') });
  runtimeInstalled = true;
}

/** For a test that needs its own Runtime (a metrics endpoint, a logger it reads): before any environment. */
export function installRuntime(options: Parameters<typeof Runtime.install>[0]): void {
  if (runtimeInstalled)
    throw new Error('the Runtime is installed already: call installRuntime before the first environment');
  Runtime.install(options);
  runtimeInstalled = true;
}

/** The time-skipping test server (Java), for workflows whose timers last minutes to weeks. */
export async function timeSkippingEnvironment(): Promise<TestWorkflowEnvironment> {
  quietRuntime();
  const path = temporalTestServerPath();
  const env = await TestWorkflowEnvironment.createTimeSkipping(
    path ? { server: { executable: executable(path) } } : {},
  );
  // The test server rejects undeclared search attributes, like a real server; declare ours.
  await env.connection.operatorService.addSearchAttributes({
    namespace: env.namespace ?? 'default',
    searchAttributes: Object.fromEntries(
      ORDER_SEARCH_ATTRIBUTES.map((key) => [
        key.name,
        temporal.api.enums.v1.IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD,
      ]),
    ),
  });
  return env;
}

/**
 * A real Temporal dev server (the CLI), with the order search attributes registered. Its transfer
 * queue acknowledges every second (30 s by default), so a deleted closed run (what retention does
 * to it) is gone in seconds.
 */
export async function devServerEnvironment(
  options: { dataConverter?: DataConverter } = {},
): Promise<TestWorkflowEnvironment> {
  quietRuntime();
  const path = temporalCliPath();
  return TestWorkflowEnvironment.createLocal({
    // The environment's client (env.client) encodes as the API's does; its workers must get the same.
    ...(options.dataConverter ? { client: { dataConverter: options.dataConverter } } : {}),
    server: {
      ...(path ? { executable: executable(path) } : {}),
      searchAttributes: ORDER_SEARCH_ATTRIBUTES,
      extraArgs: [
        '--dynamic-config-value',
        'history.transferProcessorUpdateAckInterval="1s"',
        // Task-queue priority, as every server of ours runs (scripts/tools.ts).
        ...devServerDynamicConfigArgs(),
      ],
    },
  });
}
