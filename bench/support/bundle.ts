import { basename, join } from 'node:path';
import { buildSync } from 'esbuild';

const ROOT = join(__dirname, '..', '..');

/**
 * `entry` (workspace-relative TypeScript) bundled as the apps' builds and `npm start` bundle it
 * (esbuild, packages left in node_modules), at dist/bench/<dir>/<name>.js, and that path. Rebuilt
 * on every call, well under a second. A benchmarked process runs this rather than tsx: tsx wraps
 * every function the code creates to keep its name, which cost the job-service ~5 % of its CPU per
 * job. Three levels below the root, as apps/<app>/src, so workspace-relative paths still hold.
 */
export function bundled(entry: string, dir: string): string {
  const outfile = join(ROOT, 'dist', 'bench', dir, basename(entry).replace(/\.ts$/, '.js'));
  buildSync({
    entryPoints: [join(ROOT, entry)],
    bundle: true,
    platform: 'node',
    target: 'node20',
    packages: 'external',
    sourcemap: true,
    outfile,
    logLevel: 'warning',
  });
  return outfile;
}

/** What a bundled service needs from its environment: the descriptor set its build would copy. */
export const BUNDLED_ENV = {
  DESCRIPTOR_SET_PATH: join(ROOT, 'libs', 'contracts', 'descriptors', 'trellis.binpb'),
};
