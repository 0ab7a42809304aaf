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
  // The devstack, e2e and benches: the devstack servers, shared libraries and the job worker SDK;
  // the services themselves only through the entry points allowed below.
  {
    sourceTag: 'scope:devstack',
    onlyDependOnLibsWithTags: ['scope:devstack', 'scope:shared', 'scope:job'],
  },
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

// A service's composition root (apps/<service>/src/composition.ts) may be started in-process by tests,
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

// Layers inside a service (apps/<svc>/src): domain ← app ← adapters, wired by the composition
// root (composition.ts, main.ts), which the rules leave alone. File-level, so no-restricted-imports; in flat
// config a later block replaces an earlier block's options for the same rule, so each layer's block
// carries its whole list.
const adapterPackages = [
  'mongodb',
  'kafkajs',
  '@grpc/grpc-js',
  'nice-grpc',
  'nice-grpc-common',
  'nodemailer',
  'pino',
  'prom-client',
  // the platform libraries that wrap a driver are adapters too
  '@trellis/platform/grpc',
  '@trellis/platform/mongo',
  '@trellis/platform/messaging',
];
const noAdapterPackages = adapterPackages.map((name) => ({
  name,
  message: 'Domain/app code must not import an adapter package: depend on a port (app/*.port.ts).',
}));
const noAdapterPaths = {
  group: ['**/adapters', '**/adapters/**'],
  message: 'Domain/app code must not import adapters: depend on a port (app/*.port.ts).',
};
// Protobuf types and topics are wire formats; mapping them is an adapter's job.
const noContracts = (layer) => ({
  group: ['@trellis/contracts', '@trellis/contracts/**'],
  message: `${layer} code must not import @trellis/contracts: map protos and events in an adapter.`,
});
const noAppLayer = {
  // ../app/x, ../../app, ./app — the app layer; ../composition — the composition root
  regex: '^\\.{1,2}/(?:.*/)?(?:app|composition)(?:/|$)',
  message: 'Domain code must not import the app layer: the arrow points app → domain.',
};
const noOtherAdapter = [
  {
    // from adapters/<a>/x.ts: ../<b>/y is another adapter; ../../domain, ../../app and the shared
    // helpers directly under adapters/ (../proto-time) are not.
    regex: '^\\.\\./(?!\\.\\.?/)[^/]+/',
    message:
      'An adapter must not import another adapter: share through a port, the domain, or a module directly under adapters/.',
  },
  {
    regex: '^(?:\\.\\./){2,}adapters(?:/|$)',
    message: 'An adapter must not import another adapter.',
  },
];
const noConstantFromUseCase = {
  // A use case file exports the use case; a constant an adapter needs belongs to the domain or a port.
  regex: '/app/[^/]+\\.(?:command|query)$',
  importNamePattern: '^[A-Z][A-Z0-9_]*$',
  message: 'Import constants from domain/ or a port, not from a use case file.',
};
const restrictImports = (paths, patterns) => ({
  'no-restricted-imports': ['error', { paths, patterns }],
});

// The notification use cases that still build outbox events from proto types and read decoded
// account/job events (#20). Until their mapping moves to adapters/kafka, they alone in app/ may
// import @trellis/contracts; no other app file may start to.

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
    files: ['apps/*/src/domain/**/*.ts'],
    rules: restrictImports(noAdapterPackages, [noAdapterPaths, noAppLayer, noContracts('Domain')]),
  },
  {
    files: ['apps/*/src/app/**/*.ts'],
    rules: restrictImports(noAdapterPackages, [noAdapterPaths, noContracts('App')]),
  },
  {
    // One flat folder per adapter (adapters/grpc, adapters/mongo, …); none imports another. The
    // patterns assume files one level below adapters/<a>/, as today: a nested folder needs its own.
    files: ['apps/*/src/adapters/*/**/*.ts'],
    rules: restrictImports([], [...noOtherAdapter, noConstantFromUseCase]),
  },
  {
    // Helpers directly under adapters/ serve every adapter, so they import none.
    files: ['apps/*/src/adapters/*.ts'],
    rules: restrictImports(
      [],
      [
        {
          regex: '^\\./[^/]+/',
          message: 'A shared adapter helper must not import a particular adapter.',
        },
        noConstantFromUseCase,
      ],
    ),
  },
  prettier,
);
