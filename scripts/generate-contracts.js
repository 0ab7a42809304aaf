#!/usr/bin/env node
// Generates the contracts (ts-proto code and the descriptor set that reflection serves) from
// proto/, offline from node_modules. Run by `npm install`/`npm ci` (postinstall), by `npm start`
// before it loads anything, and by `nx run contracts:generate` before builds and tests. The output is
// git-ignored; a fingerprint of the inputs makes a run with nothing changed cost a few milliseconds.
const { spawnSync } = require('node:child_process');
const { createHash } = require('node:crypto');
const { existsSync, mkdirSync, readFileSync, readdirSync, writeFileSync } = require('node:fs');
const { join, relative } = require('node:path');

const root = join(__dirname, '..');
const genDir = join(root, 'libs', 'contracts', 'src', 'gen');
const descriptorSet = join(root, 'libs', 'contracts', 'descriptors', 'trellis.binpb');
const fingerprintFile = join(genDir, '.inputs-sha256');
const buf = join(root, 'node_modules', '.bin', 'buf');

function filesUnder(dir) {
  return readdirSync(dir, { withFileTypes: true })
    .flatMap((entry) =>
      entry.isDirectory() ? filesUnder(join(dir, entry.name)) : [join(dir, entry.name)],
    )
    .sort();
}

/** Everything the output depends on: the protos, buf's config and the generators' versions. */
function inputsFingerprint() {
  const hash = createHash('sha256');
  const inputs = [
    ...filesUnder(join(root, 'proto')),
    join(root, 'buf.yaml'),
    join(root, 'buf.gen.yaml'),
    join(root, 'node_modules', 'ts-proto', 'package.json'),
    join(root, 'node_modules', '@bufbuild', 'buf', 'package.json'),
  ];
  for (const file of inputs) {
    hash.update(relative(root, file)).update('\0').update(readFileSync(file)).update('\0');
  }
  return hash.digest('hex');
}

function run(args) {
  const result = spawnSync(buf, args, { cwd: root, stdio: 'inherit' });
  if (result.status !== 0) {
    throw new Error(`buf ${args.join(' ')} failed (exit ${result.status ?? result.signal})`);
  }
}

/** Generates unless the output exists for exactly these inputs; returns whether it generated. */
function generateContracts({ force = false } = {}) {
  const fingerprint = inputsFingerprint();
  const upToDate =
    existsSync(descriptorSet) &&
    existsSync(fingerprintFile) &&
    readFileSync(fingerprintFile, 'utf8') === fingerprint;
  if (upToDate && !force) return false;
  run(['generate']); // buf.gen.yaml's `clean: true` empties libs/contracts/src/gen first
  mkdirSync(join(root, 'libs', 'contracts', 'descriptors'), { recursive: true });
  run(['build', '-o', descriptorSet]);
  writeFileSync(fingerprintFile, fingerprint);
  return true;
}

function main() {
  // `npm ci --omit=dev` (no buf) has nothing to generate with.
  if (!existsSync(buf) || !existsSync(join(root, 'proto'))) {
    console.log('contracts: buf or proto/ not present here; nothing to generate');
    return;
  }
  try {
    const generated = generateContracts({ force: process.argv.includes('--force') });
    console.log(generated ? 'contracts: generated from proto/' : 'contracts: up to date');
  } catch (err) {
    console.error(`contracts: ${err.message}`);
    process.exit(1);
  }
}

module.exports = { generateContracts, main };

if (require.main === module) main();
