import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { BUNDLED_ENV, bundled } from './bundle';

const ROOT = join(__dirname, '..', '..');

export interface DevstackInfra {
  mongoUri: string;
  brokers: string[];
}

/** `system`: the devstack's endpoints (what `npm start` prints). */
export interface DevstackSystem {
  account: string;
  job: string;
  notification: string;
}

export interface DevstackSink {
  smtpUrl: string;
  httpUrl: string;
}

/**
 * Starts devstack servers in their own process (bench/support/devstack-child.ts, bundled as
 * `npm start` bundles the devstack), as under
 * `npm start` and like a real database, so the code under test does not share their event loop:
 * `infra` = MongoDB + Kafka, `sink` = the SMTP sink. Resolves with what the child printed.
 */
export function spawnDevstack<Kind extends 'infra' | 'sink' | 'system'>(
  kind: Kind,
  nodeArgs: string[] = [],
  env: Record<string, string> = {},
): Promise<{
  info: Kind extends 'infra' ? DevstackInfra : Kind extends 'sink' ? DevstackSink : DevstackSystem;
  process: ChildProcess;
}> {
  const proc = spawn(
    process.execPath,
    [...nodeArgs, '--enable-source-maps', bundled('bench/support/devstack-child.ts', 'support')],
    {
      cwd: ROOT,
      env: { ...process.env, ...BUNDLED_ENV, BENCH_CHILD: kind, LOG_LEVEL: 'warn', ...env },
      stdio: ['ignore', 'pipe', 'inherit'],
    },
  );
  return new Promise((resolve, reject) => {
    let out = '';
    proc.stdout?.on('data', (b: Buffer) => {
      out += b.toString();
      const m = /DEVSTACK (\{.*\})/.exec(out);
      if (m) resolve({ info: JSON.parse(m[1]), process: proc });
    });
    proc.once('exit', (code) => reject(new Error(`devstack ${kind} child exited with ${code}`)));
  });
}
