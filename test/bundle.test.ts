import { fileURLToPath } from 'node:url';
import { bundleWorkflowCode } from '@temporalio/worker';
import { describe, expect, it } from 'vitest';
import { workflowsPath } from '../workers/create-worker.js';

const silent = { log() {}, trace() {}, debug() {}, info() {}, warn() {}, error() {} };
/** Bundled once for the tests that read it (bundling is the slow part). */
let orderBundle: ReturnType<typeof bundleWorkflowCode> | undefined;
const bundled = () => (orderBundle ??= bundleWorkflowCode({ workflowsPath, logger: silent }));

describe('workflow bundle', () => {
  it('bundles the order workflows for the sandbox', async () => {
    const bundle = await bundled();
    expect(bundle.code).toContain('orderWorkflow');
  });

  it('leaves the postal data out: workflows never import the address check or the geo lookup', async () => {
    const bundle = await bundled();
    expect(bundle.code).not.toMatch(/zipcodes|postal-codes-js/);
  });

  it('refuses workflow code that imports a Node built-in', async () => {
    const forbidden = fileURLToPath(new URL('./fixtures/forbidden-workflows/index.ts', import.meta.url));
    const reported: string[] = [];
    const logger = { ...silent, error: (message: string) => void reported.push(message) };
    await expect(bundleWorkflowCode({ workflowsPath: forbidden, logger })).rejects.toThrow(
      /Webpack finished with errors/,
    );
    expect(reported.join('\n')).toMatch(/ERROR in node:fs/);
  });
});
