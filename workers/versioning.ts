import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { Client } from '@temporalio/client';
import type { WorkerDeploymentOptions } from '@temporalio/worker';
import type { Config } from '../config/index.js';

/**
 * Worker deployment versioning (docs/operations.md#safe-deploys). Every worker process belongs to
 * one deployment (`WORKER_DEPLOYMENT_NAME`) and one version of it, its build ID. Temporal sends a new
 * order to the deployment's current version only, and moves running orders (AUTO_UPGRADE, see
 * workflows/index.ts) to whichever version is current; a new build gets work once an operator ramps
 * it or makes it current.
 */

const root = new URL('../', import.meta.url);
/** Written by `npm run build` (scripts/build-workflow-bundle.ts) beside the compiled worker, so an image without .git knows its build. */
export const buildIdPath = fileURLToPath(new URL('../build-id', import.meta.url));

/**
 * The build ID of this code: `WORKER_BUILD_ID` when set; else what `npm run build` recorded; else
 * the package version and the git revision (`0.1.0+3f2c1a9b7d10`), `+dirty` when the working tree
 * has uncommitted changes (a local edit is not the committed build it would otherwise claim to be).
 */
export function workerBuildId(override?: string): string {
  if (override) return override;
  if (existsSync(buildIdPath)) return readFileSync(buildIdPath, 'utf8').trim();
  return computeBuildId();
}

/** Package version + git revision, computed from the source tree. */
export function computeBuildId(): string {
  const { version } = JSON.parse(readFileSync(fileURLToPath(new URL('package.json', root)), 'utf8')) as {
    version: string;
  };
  const git = (...args: string[]) =>
    execFileSync('git', args, {
      cwd: fileURLToPath(root),
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'ignore'],
    }).trim();
  try {
    const revision = git('rev-parse', '--short=12', 'HEAD');
    const dirty = git('status', '--porcelain', '--untracked-files=no') !== '';
    return `${version}+${revision}${dirty ? '.dirty' : ''}`;
  } catch {
    return version;
  }
}

export interface WorkerVersion {
  deploymentName: string;
  buildId: string;
}

/** The worker's deployment options: versioned with `WORKER_VERSIONING=on` (production's default), else none. */
export function workerDeploymentOptions(
  settings: Pick<Config, 'WORKER_VERSIONING' | 'WORKER_DEPLOYMENT_NAME' | 'WORKER_BUILD_ID'>,
): WorkerDeploymentOptions | undefined {
  if (settings.WORKER_VERSIONING !== 'on') return undefined;
  return {
    useWorkerVersioning: true,
    version: { deploymentName: settings.WORKER_DEPLOYMENT_NAME, buildId: workerBuildId(settings.WORKER_BUILD_ID) },
    // Each workflow type names its own behaviour (workflows/index.ts); this covers a type that forgets to.
    defaultVersioningBehavior: 'AUTO_UPGRADE',
  };
}

/** The deployment's current build ID, or null while it has none (or does not exist yet). */
export async function currentBuildId(client: Client, deploymentName: string): Promise<string | null> {
  try {
    const { workerDeploymentInfo } = await client.workflowService.describeWorkerDeployment({
      namespace: client.options.namespace,
      deploymentName,
    });
    return workerDeploymentInfo?.routingConfig?.currentDeploymentVersion?.buildId || null;
  } catch (error) {
    // NOT_FOUND: no worker of this deployment has polled yet.
    if ((error as { code?: number }).code === 5) return null;
    throw error;
  }
}

/**
 * The first deployment: with no current version, this one becomes current, or no order would ever
 * be dispatched. A deployment that has a current version is left alone: moving to a new build is a
 * decision (ramp, then set current; docs/operations.md#safe-deploys), not a side effect of a start.
 * (`WORKER_MAKE_CURRENT=always` makes it current regardless, for local topologies that replace
 * every worker at each start.) Retries until the server knows this version (it learns of it when
 * the worker first polls).
 * Returns what it did, for the log.
 */
export async function ensureCurrentVersion(
  client: Client,
  version: WorkerVersion,
  options: {
    /** `always`: make this build current even over another (a topology that replaced every worker). */
    mode?: 'when-none' | 'always';
    forMs?: number;
    sleep?: (ms: number) => Promise<void>;
  } = {},
): Promise<{ outcome: 'made-current' | 'already-current' | 'not-current'; current: string | null }> {
  const sleep = options.sleep ?? ((ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms)));
  const until = Date.now() + (options.forMs ?? 120_000);
  for (;;) {
    const current = await currentBuildId(client, version.deploymentName);
    if (current === version.buildId) return { outcome: 'already-current', current };
    if (current !== null && options.mode !== 'always') return { outcome: 'not-current', current };
    try {
      await client.workflowService.setWorkerDeploymentCurrentVersion({
        namespace: client.options.namespace,
        deploymentName: version.deploymentName,
        buildId: version.buildId,
        identity: client.options.identity,
      });
      return { outcome: 'made-current', current: version.buildId };
    } catch (error) {
      // Not known yet (the worker has not polled), or another worker of the first start won the race.
      if (Date.now() > until) throw error;
      await sleep(500);
    }
  }
}
