#!/usr/bin/env node
// `npm start`: runs apps/devstack (embedded MongoDB, Kafka and SMTP plus the three services).
// The TypeScript is bundled once with esbuild (packages stay in node_modules) and rebuilt only when a
// source file changed: loading ~1,000 modules through tsx's hooks cost more CPU than the whole start
// of the system, and a bundle starts in about half the time.
const { spawn } = require('node:child_process');
const { existsSync, mkdirSync, readFileSync, statSync, writeFileSync } = require('node:fs');
const { join } = require('node:path');

const root = join(__dirname, '..');
const entry = join(root, 'apps', 'devstack', 'src', 'main.ts');
// Same depth below the root as apps/devstack/src, so the devstack's workspace-relative paths hold.
const outDir = join(root, 'dist', 'apps', 'devstack');
const bundle = join(outDir, 'main.js');
const inputsFile = join(outDir, 'inputs.json');
if (!existsSync(entry)) {
  console.log(
    'Trellis: no services yet (apps/devstack is not built). Run `npm test` to check the workspace.',
  );
  process.exit(0);
}

function fail(what, err) {
  console.error(`[devstack] failed to ${what}: ${err.message}`);
  process.exit(1);
}

// The generated contracts are git-ignored: a clone installed with --ignore-scripts, or protos
// changed since, would otherwise fail on a missing or stale module.
const { generateContracts } = require('./generate-contracts');
try {
  if (generateContracts()) console.error('[devstack] contracts generated from proto/');
} catch (err) {
  fail('generate the contracts', err);
}

/** The bundle is current when it is newer than every file it was built from. */
function bundleIsCurrent() {
  if (!existsSync(bundle) || !existsSync(inputsFile)) return false;
  const builtAt = statSync(bundle).mtimeMs;
  const inputs = JSON.parse(readFileSync(inputsFile, 'utf8'));
  return inputs.every((file) => {
    const path = join(root, file);
    return existsSync(path) && statSync(path).mtimeMs < builtAt;
  });
}

if (!bundleIsCurrent()) {
  try {
    const esbuild = require('esbuild');
    const result = esbuild.buildSync({
      entryPoints: [entry],
      bundle: true,
      platform: 'node',
      target: 'node20',
      packages: 'external',
      sourcemap: true,
      outfile: bundle,
      metafile: true,
      logLevel: 'error',
      absWorkingDir: root,
    });
    mkdirSync(outDir, { recursive: true });
    const inputs = [...Object.keys(result.metafile.inputs), 'tsconfig.base.json', 'package.json'];
    writeFileSync(inputsFile, JSON.stringify(inputs));
    // Its service process would otherwise live (and ping) as long as the system runs.
    void esbuild.stop();
  } catch (err) {
    fail('bundle apps/devstack', err);
  }
}

// Node flags given to this script (`node --cpu-prof scripts/start.js`) apply to the system's process.
// --memory-reducer-single-gc: once the system is idle after start-up, V8's memory reducer runs up to
// three full collections. The first frees what start-up left (87 -> 60 MB of heap); the other two
// free under 1 MB each but hand the emptied pages back to the OS, and cost 60–110 ms of main thread
// each (--trace-gc). One collection: about 0.3 % of a core less in the minute it falls in, for an
// RSS about 10 MB higher (bench/idle).
const nodeArgs = ['--enable-source-maps', '--memory-reducer-single-gc', ...process.execArgv];
const child = spawn(process.execPath, [...nodeArgs, bundle, ...process.argv.slice(2)], {
  cwd: root,
  stdio: 'inherit',
  env: {
    // Reflection serves the descriptor set generated above, not a copy beside the bundle.
    DESCRIPTOR_SET_PATH: join(root, 'libs', 'contracts', 'descriptors', 'trellis.binpb'),
    ...process.env,
  },
});
// The devstack handles SIGINT/SIGTERM itself; forward them and exit with its code.
for (const signal of ['SIGINT', 'SIGTERM']) process.on(signal, () => child.kill(signal));
child.on('exit', (code, signal) => process.exit(code ?? (signal ? 1 : 0)));
