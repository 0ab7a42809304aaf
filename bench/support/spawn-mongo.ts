import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const ROOT = join(__dirname, '../..');

/**
 * Starts the devstack MongoDB alone in its own process (libs/devstack/mongo/src/main.ts), so the
 * driver and the server do not share an event loop. `serverRoot` runs it from another checkout
 * (before/after figures), `journal` gives it a data directory, `profileDir` writes a CPU profile.
 */
export async function spawnMongo(opts: {
  journal?: boolean;
  serverRoot?: string;
  profileDir?: string;
  env?: Record<string, string>;
}): Promise<{ uri: string; child: ChildProcess; cleanup: () => void }> {
  const dataDir = opts.journal ? mkdtempSync(join(tmpdir(), 'bench-devstack-mongo-')) : undefined;
  const profile = opts.profileDir ? ['--cpu-prof', `--cpu-prof-dir=${opts.profileDir}`] : [];
  const entry = join(opts.serverRoot ?? ROOT, 'libs/devstack/mongo/src/main.ts');
  const child = spawn(process.execPath, [...profile, '--import', 'tsx', entry], {
    cwd: ROOT,
    env: {
      ...process.env,
      DEVSTACK_MONGO_PORT: '0',
      LOG_LEVEL: 'warn',
      ...(dataDir ? { DEVSTACK_MONGO_DATA_DIR: dataDir } : {}),
      ...opts.env,
    },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const uri = await new Promise<string>((resolve, reject) => {
    let out = '';
    child.stdout?.on('data', (b: Buffer) => {
      out += b.toString();
      const m = out.match(/MONGODB_URI=(\S+)/);
      if (m) resolve(m[1]);
    });
    child.once('exit', (code) => reject(new Error(`server exited with ${code}`)));
  });
  return {
    uri,
    child,
    cleanup: () => {
      // SIGINT lets node write the --cpu-prof profile on the way out.
      child.kill(profile.length > 0 ? 'SIGINT' : 'SIGTERM');
      if (dataDir) rmSync(dataDir, { recursive: true, force: true });
    },
  };
}
