import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    globalSetup: ['test/support/global-setup.ts'],
    // Temporal workers run native code; separate processes keep each file's runtime apart.
    pool: 'forks',
    // Two cores: files run one at a time, each with its own Temporal server.
    fileParallelism: false,
    testTimeout: 60_000,
    hookTimeout: 120_000,
  },
});
