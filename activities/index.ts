import { createCatalogActivities } from './catalog.js';
import type { ActivityDependencies } from './deps.js';
import { createInventoryActivities } from './inventory.js';
import { createNotificationActivities } from './notifications.js';
import { withCombinedSteps } from './combined.js';
import { createPaymentActivities } from './payments.js';
import { createReadModelActivities } from './read-model.js';
import { createReconcileActivities } from './reconcile.js';
import { createReturnActivities } from './returns.js';
import { createShippingActivities } from './shipping.js';
import { createWarehouseActivities } from './warehouse.js';
import { createWaveActivities } from './waves.js';

export type { ActivityDependencies } from './deps.js';

/** The activities of the order workflow, over injected dependencies. */
export function createOrderActivities(deps: ActivityDependencies) {
  const parts = {
    ...createCatalogActivities(deps),
    ...createInventoryActivities(deps),
    ...createPaymentActivities(deps),
    ...createWarehouseActivities(deps),
    ...createShippingActivities(deps),
    ...createNotificationActivities(deps),
    ...createReadModelActivities(deps),
    ...createReturnActivities(deps),
  };
  return withCombinedSteps(parts);
}

/** Every activity the worker runs: the order workflow's, the wave workflows', and the order reconciler's own. */
export function createActivities(deps: ActivityDependencies) {
  return { ...createOrderActivities(deps), ...createWaveActivities(deps), ...createReconcileActivities(deps) };
}

/** The activities of the wave workflows, and the one a shipment joins its warehouse's waves with. */
export type WaveActivities = ReturnType<typeof createWaveActivities>;

export type OrderActivities = ReturnType<typeof createOrderActivities>;
export type ReconcilerActivities = ReturnType<typeof createActivities>;
