import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { lockDataDir, startDevstack } from '@trellis/devstack';

const LOCK = 'devstack.pid';

function freshDir(): string {
  return mkdtempSync(join(tmpdir(), 'trellis-lock-'));
}

describe('one devstack per data directory', () => {
  it('refuses a second npm start on a data directory a live process holds, before starting anything', async () => {
    // What a kill -9 of `npm start` leaves behind: the devstack process, still running.
    const holder = spawn(process.execPath, ['-e', 'setInterval(() => undefined, 1000)']);
    try {
      const dataDir = freshDir();
      writeFileSync(join(dataDir, LOCK), `${holder.pid}\n`);
      await expect(startDevstack({ dataDir, ports: 'ephemeral' })).rejects.toThrow(
        `in use by process ${holder.pid}`,
      );
      expect(readFileSync(join(dataDir, LOCK), 'utf8')).toBe(`${holder.pid}\n`);
      expect(existsSync(join(dataDir, 'mongo'))).toBe(false);
    } finally {
      holder.kill('SIGKILL');
    }
  });

  it('takes over the lock of a process that is gone, and releases only its own', () => {
    const dataDir = freshDir();
    const gone = spawnSync(process.execPath, ['-e', 'process.pid']).pid;
    writeFileSync(join(dataDir, LOCK), `${gone}\n`);
    const release = lockDataDir(dataDir);
    expect(readFileSync(join(dataDir, LOCK), 'utf8')).toBe(`${process.pid}\n`);
    expect(() => lockDataDir(dataDir, process.pid + 1)).toThrow(`in use by process ${process.pid}`);
    release();
    expect(existsSync(join(dataDir, LOCK))).toBe(false);
    const again = lockDataDir(dataDir);
    again();
  });
});
