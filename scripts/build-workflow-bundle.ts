import { cp, mkdir, rm, writeFile } from 'node:fs/promises';
import { basename } from 'node:path';
import { fileURLToPath } from 'node:url';
import { bundleWorkflowCode } from '@temporalio/worker';
import { workflowBundlePaths, workflowInterceptorModules } from '../workers/create-worker.js';
import { computeBuildId } from '../workers/versioning.js';

/**
 * The second half of `npm run build` (after `tsc -p tsconfig.build.json`):
 * - prebundles the workflows so the compiled worker (dist/workers/create-worker.js) loads
 *   dist/workflow-bundle.js instead of running webpack at every start, or with tracing on
 *   dist/workflow-bundle-traced.js (the same workflows with the OpenTelemetry interceptors);
 * - copies the SQL migrations next to the compiled migrator (dist/db/migrate.js resolves ./migrations);
 * - records the build ID (`WORKER_BUILD_ID`, else package version + git revision) in dist/build-id,
 *   the worker deployment version the compiled worker polls as (workers/versioning.ts).
 */
const root = new URL('../', import.meta.url);
const workflowsPath = fileURLToPath(new URL('workflows/index.ts', root));
// Where the compiled worker looks for them: next to dist/workers/.
const bundlePaths = {
  plain: fileURLToPath(new URL(`dist/${basename(workflowBundlePaths.plain)}`, root)),
  traced: fileURLToPath(new URL(`dist/${basename(workflowBundlePaths.traced)}`, root)),
};
const migrationsSource = fileURLToPath(new URL('db/migrations', root));
const migrationsTarget = fileURLToPath(new URL('dist/db/migrations', root));

await mkdir(fileURLToPath(new URL('dist/', root)), { recursive: true });
for (const [kind, bundlePath] of Object.entries(bundlePaths)) {
  const { code } = await bundleWorkflowCode({
    workflowsPath,
    workflowInterceptorModules: kind === 'traced' ? workflowInterceptorModules : [],
  });
  await writeFile(bundlePath, code);
  process.stdout.write(`workflow bundle (${kind}): ${bundlePath} (${(code.length / 1024).toFixed(0)} KiB)\n`);
}

// An image has no .git: docker build passes WORKER_BUILD_ID (see Dockerfile).
const buildId = process.env.WORKER_BUILD_ID || computeBuildId();
await writeFile(fileURLToPath(new URL('dist/build-id', root)), `${buildId}\n`);
process.stdout.write(`build ID: ${buildId}\n`);

await rm(migrationsTarget, { recursive: true, force: true });
await mkdir(fileURLToPath(new URL('dist/db/', root)), { recursive: true });
await cp(migrationsSource, migrationsTarget, { recursive: true });
process.stdout.write(`migrations: ${migrationsTarget}\n`);
