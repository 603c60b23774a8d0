// The one workflowsPath of the worker: every workflow type the order engine runs.
import type { VersioningBehavior } from '@temporalio/common';
import { setWorkflowOptions, workflowInfo } from '@temporalio/workflow';
import { orderWorkflow } from './order.js';
import { reconcileOrdersWorkflow } from './reconcile.js';
import { shipmentWorkflow } from './shipment.js';
import { waveWorkflow } from './wave.js';
import { wavesWorkflow } from './waves.js';

/*
 * What a new worker deployment version means for each type (docs/operations.md#safe-deploys).
 * An order lives for weeks (a 30-day return window after delivery): pinned to the build it started
 * on, every build would have to keep running for as long as its oldest order, so orders move to the
 * current version at their next workflow task; `patched()` (workflows/patches.ts) and the replay
 * gate (`npm run deploy:check`) make that move safe. A reconcile run lasts seconds and is started
 * again every few minutes: it finishes on the build it started on, and nothing of it needs patching.
 * A warehouse's waves workflow never ends (it continues as new), and one wave can wait out three
 * pick SLAs (12 h by default): both move to the current version like orders, behind `patched()`.
 *
 * Named only on a versioned worker: the server refuses a workflow task that names a behaviour from
 * an unversioned one (the tests' workers, WORKER_VERSIONING=off).
 */
const onVersionedWorkers = (versioningBehavior: VersioningBehavior) => () =>
  // An unversioned worker has a build ID of its own too, but no deployment name.
  workflowInfo().currentDeploymentVersion?.deploymentName ? { versioningBehavior } : {};

setWorkflowOptions(onVersionedWorkers('AUTO_UPGRADE'), orderWorkflow);
setWorkflowOptions(onVersionedWorkers('PINNED'), reconcileOrdersWorkflow);
// A shipment lives as long as its parcel's journey (days, a reship more): like its order.
setWorkflowOptions(onVersionedWorkers('AUTO_UPGRADE'), shipmentWorkflow);
setWorkflowOptions(onVersionedWorkers('AUTO_UPGRADE'), wavesWorkflow);
setWorkflowOptions(onVersionedWorkers('AUTO_UPGRADE'), waveWorkflow);

export { orderWorkflow, reconcileOrdersWorkflow, shipmentWorkflow, wavesWorkflow, waveWorkflow };
