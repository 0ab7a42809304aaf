#!/usr/bin/env node
// `npm start`: runs apps/devstack (embedded MongoDB, Kafka and SMTP plus the three services) with tsx.
const { spawn } = require('node:child_process');
const { existsSync } = require('node:fs');
const { join } = require('node:path');

const root = join(__dirname, '..');
const entry = join(root, 'apps', 'devstack', 'src', 'main.ts');
if (!existsSync(entry)) {
  console.log(
    'Trellis: no services yet (apps/devstack is not built). Run `npm test` to check the workspace.',
  );
  process.exit(0);
}
// The generated contracts are git-ignored: a clone installed with --ignore-scripts, or protos
// changed since, would otherwise fail on a missing or stale module.
const { generateContracts } = require('./generate-contracts');
try {
  if (generateContracts()) console.error('[devstack] contracts generated from proto/');
} catch (err) {
  console.error(`[devstack] failed to generate the contracts: ${err.message}`);
  process.exit(1);
}
const child = spawn(
  process.execPath,
  [join(root, 'node_modules', 'tsx', 'dist', 'cli.mjs'), entry, ...process.argv.slice(2)],
  {
    cwd: root,
    stdio: 'inherit',
  },
);
// The devstack handles SIGINT/SIGTERM itself; forward them and exit with its code.
for (const signal of ['SIGINT', 'SIGTERM']) process.on(signal, () => child.kill(signal));
child.on('exit', (code, signal) => process.exit(code ?? (signal ? 1 : 0)));
