// @ts-check
import js from '@eslint/js';
import boundaries from 'eslint-plugin-boundaries';
import tseslint from 'typescript-eslint';

const nodeBuiltins = [
  'assert',
  'buffer',
  'child_process',
  'cluster',
  'crypto',
  'dgram',
  'dns',
  'events',
  'fs',
  'fs/promises',
  'http',
  'http2',
  'https',
  'net',
  'os',
  'path',
  'perf_hooks',
  'process',
  'readline',
  'stream',
  'timers',
  'tls',
  'url',
  'util',
  'v8',
  'vm',
  'worker_threads',
  'zlib',
];

/** What deterministic workflow code and the pure domain contract may never import. */
const sandboxBans = {
  paths: [
    ...nodeBuiltins.flatMap((name) => [
      { name, message: 'Workflow code runs in a deterministic sandbox: no Node built-ins. Do I/O in an activity.' },
      {
        name: `node:${name}`,
        message: 'Workflow code runs in a deterministic sandbox: no Node built-ins. Do I/O in an activity.',
      },
    ]),
    ...[
      'drizzle-orm',
      'postgres',
      'express',
      'pino',
      '@temporalio/activity',
      '@temporalio/client',
      '@temporalio/worker',
      '@temporalio/testing',
    ].map((name) => ({
      name,
      message:
        'Not sandbox-safe: workflow and domain code import only @temporalio/workflow, @temporalio/common and the domain.',
    })),
  ],
  patterns: [
    {
      group: ['**/activities/*', '**/activities'],
      allowTypeImports: true,
      message: 'Workflows use activities through proxyActivities; import only their types (`import type`).',
    },
    {
      group: [
        '**/db/*',
        '**/api/*',
        '**/workers/*',
        '**/simulators/*',
        '**/config/*',
        '**/scripts/*',
        'drizzle-orm/*',
        '@temporalio/worker/*',
        '@temporalio/client/*',
      ],
      message:
        'Not sandbox-safe: workflow and domain code import only @temporalio/workflow, @temporalio/common and the domain.',
    },
  ],
};

/**
 * The layers, bottom first: a file may import from its own layer's folders and from every layer
 * below it, never from one above (a type-only import counts too). `simulators/` stand in for the
 * external parties beside `activities/`: they implement its ports, and activities reach them only
 * through those ports (the worker wires them). Tests may import anything. The workflow sandbox rule
 * below narrows what `workflows/` and `domain/` may import further.
 */
const LAYERS = [
  ['domain'],
  ['platform', 'config'],
  ['db'],
  ['activities', 'simulators'],
  ['workflows'],
  ['api'],
  ['workers', 'scripts'],
];
/** Within a layer, who may import whom (absent: only itself). */
const PEERS = { config: ['platform'], simulators: ['activities'], scripts: ['workers'] };
const layerElements = LAYERS.flat().map((type) => ({ type, pattern: `${type}/**`, partialMatch: false }));
const layerPolicies = LAYERS.flatMap((layer, rank) =>
  layer.map((type) => ({
    from: { element: { type } },
    allow: {
      to: {
        element: {
          type: [...LAYERS.slice(0, rank).flat(), type, ...(PEERS[/** @type {keyof typeof PEERS} */ (type)] ?? [])],
        },
      },
    },
  })),
);

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
      '@typescript-eslint/no-unused-vars': [
        'error',
        { argsIgnorePattern: '^_', varsIgnorePattern: '^_', destructuredArrayIgnorePattern: '^_' },
      ],
    },
  },
  {
    plugins: { boundaries },
    settings: {
      'import/resolver': { typescript: { project: './tsconfig.json' } },
      'boundaries/elements': [...layerElements, { type: 'test', pattern: 'test/**', partialMatch: false }],
      'boundaries/files': [{ category: 'tooling', pattern: '*.config.{ts,js}' }],
    },
    rules: {
      'boundaries/dependencies': [
        'error',
        {
          default: 'disallow',
          message:
            '{{from.element.type}}/ may not import from {{to.element.type}}/: imports run down the layers only (domain ← platform/config ← db ← activities/simulators ← workflows ← api ← workers/scripts; see LAYERS in eslint.config.js).',
          policies: [
            ...layerPolicies,
            { from: { element: { type: 'test' } }, allow: { to: { element: { type: '*' } } } },
          ],
        },
      ],
      // Every file belongs to a layer, and every local import resolves to one: nothing slips past unclassified.
      'boundaries/no-unknown-files': 'error',
      'boundaries/no-unknown-dependencies': 'error',
    },
  },
  {
    files: ['workflows/**/*.ts', 'domain/**/*.ts'],
    rules: { '@typescript-eslint/no-restricted-imports': ['error', sandboxBans] },
  },
  { files: ['eslint.config.js'], ...tseslint.configs.disableTypeChecked },
  // The dashboard's page script runs in the browser, with Chart.js loaded before it.
  {
    files: ['api/reports/dashboard-page/**/*.js'],
    ...tseslint.configs.disableTypeChecked,
    languageOptions: {
      ...tseslint.configs.disableTypeChecked.languageOptions,
      sourceType: 'script',
      globals: Object.fromEntries(
        [
          'window',
          'document',
          'location',
          'sessionStorage',
          'fetch',
          'URLSearchParams',
          'Intl',
          'Node',
          'Option',
          'setInterval',
          'clearInterval',
          'Chart',
        ].map((name) => [name, 'readonly']),
      ),
    },
  },
);
