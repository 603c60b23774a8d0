import { defineConfig } from 'vitest/config';

/**
 * `npm run test:cluster`: the end-to-end order tests against the production topology that
 * `npm run cluster` runs (test/cluster/global-setup.ts starts it once and stops it after).
 */
export default defineConfig({
  test: {
    include: ['test/cluster/**/*.cluster.ts'],
    globalSetup: ['test/cluster/global-setup.ts'],
    pool: 'forks',
    fileParallelism: false,
    testTimeout: 90_000,
    hookTimeout: 240_000,
  },
});
