import js from '@eslint/js';
import nx from '@nx/eslint-plugin';
import tseslint from 'typescript-eslint';
import prettier from 'eslint-config-prettier';

// Module boundaries (docs/architecture.md "Repository layout and boundaries"): two tag
// dimensions, scope:* × type:*.
const depConstraints = [
  {
    sourceTag: 'type:app',
    onlyDependOnLibsWithTags: ['type:platform', 'type:contracts', 'type:sdk'],
  },
  {
    sourceTag: 'type:sdk',
    onlyDependOnLibsWithTags: ['type:platform', 'type:contracts', 'type:sdk'],
  },
  { sourceTag: 'type:platform', onlyDependOnLibsWithTags: ['type:platform', 'type:contracts'] },
  { sourceTag: 'type:contracts', onlyDependOnLibsWithTags: [] },
  { sourceTag: 'type:devstack', onlyDependOnLibsWithTags: ['type:devstack', 'type:platform'] },
  {
    sourceTag: 'type:devstack-app',
    onlyDependOnLibsWithTags: [
      'type:devstack',
      'type:platform',
      'type:contracts',
      'type:sdk',
      'type:app',
    ],
  },
  {
    sourceTag: 'type:e2e',
    onlyDependOnLibsWithTags: [
      'type:devstack',
      'type:platform',
      'type:contracts',
      'type:sdk',
      'type:devstack-app',
    ],
  },
  { sourceTag: 'scope:account', onlyDependOnLibsWithTags: ['scope:account', 'scope:shared'] },
  { sourceTag: 'scope:job', onlyDependOnLibsWithTags: ['scope:job', 'scope:shared'] },
  {
    sourceTag: 'scope:notification',
    onlyDependOnLibsWithTags: ['scope:notification', 'scope:job', 'scope:shared'],
  },
  { sourceTag: 'scope:shared', onlyDependOnLibsWithTags: ['scope:shared'] },
];

// Tests may also use the devstack servers (docs/architecture.md: libs/devstack is imported only
// by apps/devstack, e2e, tests and benches), and integration tests may start other services
// in-process.
const allScopes = [
  'scope:shared',
  'scope:account',
  'scope:job',
  'scope:notification',
  'scope:devstack',
];
const testDepConstraints = depConstraints.map((c) =>
  c.sourceTag.startsWith('type:')
    ? {
        ...c,
        onlyDependOnLibsWithTags: [
          ...c.onlyDependOnLibsWithTags,
          'type:devstack',
          'type:app',
          'type:devstack-app',
        ],
      }
    : { ...c, onlyDependOnLibsWithTags: allScopes },
);

// A service's composition root (apps/<service>/src/app.ts) may be started in-process by tests,
// apps/devstack and e2e — nowhere else; nx otherwise forbids importing an app.
const serviceEntryPoints = [
  '@trellis/account-service',
  '@trellis/account-service/config',
  '@trellis/job-service',
  '@trellis/job-service/config',
  '@trellis/notification-service',
  '@trellis/notification-service/config',
  '@trellis/devstack',
];

const adapterPackages = ['mongodb', 'kafkajs', '@grpc/grpc-js', 'nice-grpc', 'nodemailer', 'pino'];

export default tseslint.config(
  {
    ignores: [
      '**/node_modules/**',
      '**/dist/**',
      '**/coverage/**',
      '.nx/**',
      '.data/**',
      'libs/contracts/src/gen/**',
      '**/test/gen/**',
      '**/*.js',
      '**/*.mjs',
      '**/*.cjs',
    ],
  },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  { plugins: { '@nx': nx } },
  {
    files: ['**/*.ts'],
    rules: {
      '@typescript-eslint/no-explicit-any': 'error',
      '@typescript-eslint/no-unused-vars': [
        'error',
        { argsIgnorePattern: '^_', varsIgnorePattern: '^_' },
      ],
      '@typescript-eslint/consistent-type-imports': ['error', { fixStyle: 'inline-type-imports' }],
      eqeqeq: ['error', 'smart'],
    },
  },
  {
    files: ['**/src/**/*.ts'],
    ignores: ['**/*.spec.ts', '**/*.test.ts'],
    rules: {
      '@nx/enforce-module-boundaries': [
        'error',
        { enforceBuildableLibDependency: false, allow: [], depConstraints },
      ],
    },
  },
  {
    files: ['apps/devstack/src/**/*.ts', 'e2e/**/*.ts'],
    rules: {
      '@nx/enforce-module-boundaries': [
        'error',
        { enforceBuildableLibDependency: false, allow: serviceEntryPoints, depConstraints },
      ],
    },
  },
  {
    files: ['**/test/**/*.ts', '**/*.spec.ts', '**/*.test.ts', 'bench/**/*.ts'],
    rules: {
      '@nx/enforce-module-boundaries': [
        'error',
        {
          enforceBuildableLibDependency: false,
          allow: serviceEntryPoints,
          depConstraints: testDepConstraints,
        },
      ],
    },
  },
  {
    // Domain and application layers depend on ports only, never on an adapter or a driver.
    files: ['apps/*/src/domain/**/*.ts', 'apps/*/src/app/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          paths: adapterPackages.map((name) => ({
            name,
            message: 'Domain/app code must not import adapters.',
          })),
          patterns: [
            { group: ['**/adapters/**'], message: 'Domain/app code must not import adapters.' },
          ],
        },
      ],
    },
  },
  prettier,
);
