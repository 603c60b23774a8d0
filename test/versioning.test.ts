import { describe, expect, it } from 'vitest';
import { parseConfig } from '../config/index.js';
import { computeBuildId, workerBuildId, workerDeploymentOptions } from '../workers/versioning.js';

/** Which version a worker polls as (the rollout itself: test/deploy.test.ts). */
describe('the worker deployment version', () => {
  it('is on by default, in deployment order-fulfillment, with the build of this tree', () => {
    const options = workerDeploymentOptions(parseConfig({}));
    expect(options).toEqual({
      useWorkerVersioning: true,
      version: { deploymentName: 'order-fulfillment', buildId: computeBuildId() },
      defaultVersioningBehavior: 'AUTO_UPGRADE',
    });
  });

  it('takes the package version and the git revision, marked when the tree has uncommitted changes', () => {
    expect(computeBuildId()).toMatch(/^0\.1\.0\+[0-9a-f]{12}(\.dirty)?$/);
  });

  it('is what WORKER_BUILD_ID and WORKER_DEPLOYMENT_NAME say when set', () => {
    const settings = parseConfig({ WORKER_BUILD_ID: '2026-12-02.1', WORKER_DEPLOYMENT_NAME: 'orders-eu' });
    expect(workerDeploymentOptions(settings)?.version).toEqual({
      deploymentName: 'orders-eu',
      buildId: '2026-12-02.1',
    });
    expect(workerBuildId('given')).toBe('given');
  });

  it('is no version at all with WORKER_VERSIONING=off, and refuses anything but on or off', () => {
    expect(workerDeploymentOptions(parseConfig({ WORKER_VERSIONING: 'off' }))).toBeUndefined();
    expect(() => parseConfig({ WORKER_VERSIONING: 'yes' })).toThrow(/WORKER_VERSIONING/);
    expect(() => parseConfig({ WORKER_MAKE_CURRENT: 'sometimes' })).toThrow(/WORKER_MAKE_CURRENT/);
  });
});
