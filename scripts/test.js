#!/usr/bin/env node
// `npm test`: prettier check, then lint + typecheck + build + every jest suite through nx, then one
// summary line summed over every project's jest results ("N passed, N failed").
const { spawnSync } = require('node:child_process');
const { existsSync, readdirSync, readFileSync, rmSync } = require('node:fs');
const { join } = require('node:path');

const root = join(__dirname, '..');
const resultsDir = join(root, 'dist', 'test-results');
rmSync(resultsDir, { recursive: true, force: true });

function run(command, args) {
  const result = spawnSync(command, args, {
    cwd: root,
    stdio: 'inherit',
    env: {
      ...process.env,
      NX_DAEMON: 'false',
      NX_NO_CLOUD: 'true',
      NX_TUI: 'false',
      FORCE_COLOR: '0',
    },
  });
  return result.status ?? 1;
}

const bin = (name) => join(root, 'node_modules', '.bin', name);
const extra = process.argv.slice(2);
let status = run(bin('prettier'), ['--check', '--log-level', 'warn', '.']);
if (status === 0) {
  status = run(bin('nx'), [
    'run-many',
    '-t',
    'lint',
    'typecheck',
    'build',
    'test',
    '--output-style=stream',
    '--skip-nx-cache',
    ...extra,
  ]);
}

let passed = 0;
let failed = 0;
if (existsSync(resultsDir)) {
  for (const file of readdirSync(resultsDir)) {
    const results = JSON.parse(readFileSync(join(resultsDir, file), 'utf8'));
    passed += results.numPassedTests;
    failed += results.numFailedTests;
  }
}
console.log(`\ntests: ${passed} passed, ${failed} failed`);
process.exit(status !== 0 ? status : failed > 0 || passed === 0 ? 1 : 0);
