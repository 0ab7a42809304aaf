import { mkdirSync, readFileSync, readdirSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export const LOCK_FILE = 'devstack.pid';

/**
 * One devstack per data directory. Two embedded MongoDB servers appending to one journal lose
 * the writes of one of them at the next start, and a `kill -9` of `npm start` (or of its terminal)
 * leaves the devstack process running unnoticed, so the next `npm start` would be the second.
 * The lock is a file holding the owner's pid; one whose process is gone is taken over.
 */
export function lockDataDir(dataDir: string, pid: number = process.pid): () => void {
  mkdirSync(dataDir, { recursive: true });
  const path = join(dataDir, LOCK_FILE);
  for (let attempt = 0; ; attempt++) {
    try {
      writeFileSync(path, `${pid}\n`, { flag: 'wx' });
      break;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST' || attempt > 0) throw err;
      const owner = Number.parseInt(readOwner(path), 10);
      if (Number.isSafeInteger(owner) && owner > 0 && isAlive(owner)) {
        throw new Error(
          `the data directory ${dataDir} is in use by process ${owner} (another npm start?): ` +
            `stop it, or give this one its own DEVSTACK_DATA_DIR`,
        );
      }
      rmSync(path, { force: true }); // stale: its owner is gone (kill -9, power loss)
    }
  }
  return () => {
    if (readOwner(path).trim() === String(pid)) unlinkSync(path);
  };
}

/** Empties a locked data directory (`--fresh`), keeping the lock. */
export function emptyDataDir(dataDir: string): void {
  for (const entry of readdirSync(dataDir)) {
    if (entry !== LOCK_FILE) rmSync(join(dataDir, entry), { recursive: true, force: true });
  }
}

function readOwner(path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return '';
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    // EPERM: it exists but belongs to someone else.
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}
