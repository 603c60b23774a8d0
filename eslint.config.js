// @ts-check
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

const nodeBuiltins = [
  'assert', 'buffer', 'child_process', 'cluster', 'crypto', 'dgram', 'dns', 'events', 'fs', 'fs/promises', 'http', 'http2',
  'https', 'net', 'os', 'path', 'perf_hooks', 'process', 'readline', 'stream', 'timers', 'tls', 'url', 'util', 'v8', 'vm',
  'worker_threads', 'zlib',
];

/** What deterministic workflow code and the pure domain contract may never import. */
const sandboxBans = {
  paths: [
    ...nodeBuiltins.flatMap((name) => [
      { name, message: 'Workflow code runs in a deterministic sandbox: no Node built-ins. Do I/O in an activity.' },
      { name: `node:${name}`, message: 'Workflow code runs in a deterministic sandbox: no Node built-ins. Do I/O in an activity.' },
    ]),
    ...['drizzle-orm', 'postgres', 'express', 'pino', '@temporalio/activity', '@temporalio/client', '@temporalio/worker', '@temporalio/testing'].map(
      (name) => ({ name, message: 'Not sandbox-safe: workflow and domain code import only @temporalio/workflow, @temporalio/common and the domain.' }),
    ),
  ],
  patterns: [
    {
      group: ['**/activities/*', '**/activities'],
      allowTypeImports: true,
      message: 'Workflows use activities through proxyActivities; import only their types (`import type`).',
    },
    {
      group: ['**/db/*', '**/api/*', '**/workers/*', '**/simulators/*', '**/config/*', '**/scripts/*', 'drizzle-orm/*', '@temporalio/worker/*', '@temporalio/client/*'],
      message: 'Not sandbox-safe: workflow and domain code import only @temporalio/workflow, @temporalio/common and the domain.',
    },
  ],
};

export default tseslint.config(
  // scripts/*.mjs: plain node scripts run at install time, before TypeScript tooling exists.
  { ignores: ['node_modules/', 'dist/', '.tools/', '.data/', 'workflow-bundle.js', 'test/fixtures/', 'scripts/*.mjs'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname } },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/consistent-type-imports': ['error', { fixStyle: 'inline-type-imports' }],
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', destructuredArrayIgnorePattern: '^_' }],
    },
  },
  {
    files: ['workflows/**/*.ts', 'domain/**/*.ts'],
    rules: { '@typescript-eslint/no-restricted-imports': ['error', sandboxBans] },
  },
  { files: ['eslint.config.js'], ...tseslint.configs.disableTypeChecked },
);
