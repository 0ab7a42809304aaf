/**
 * Write locks held by open multi-document transactions, keyed by strings such as
 * `d:<ns>:<idKey>` (a document) or `i:<ns>:<index>:<entryKey>` (a unique-index entry).
 *
 * Another transaction that wants the same lock fails at once with WriteConflict (MongoDB's
 * behaviour); a non-transactional write waits for the release (SERVER-34650), which is what
 * `waitFor` is for.
 */
import { CommandError } from '../errors';

export interface LockOwner {
  readonly id: number;
}

export class LockTable {
  private readonly owners = new Map<string, LockOwner>();
  private readonly waiters = new Map<string, Array<() => void>>();

  ownerOf(key: string): LockOwner | undefined {
    return this.owners.get(key);
  }

  acquire(key: string, owner: LockOwner): void {
    this.owners.set(key, owner);
  }

  release(keys: Iterable<string>, owner: LockOwner): void {
    for (const key of keys) {
      if (this.owners.get(key) !== owner) continue;
      this.owners.delete(key);
      const waiting = this.waiters.get(key);
      if (waiting) {
        this.waiters.delete(key);
        for (const wake of waiting) wake();
      }
    }
  }

  get size(): number {
    return this.owners.size;
  }

  /** Resolves when `key` is free; rejects with MaxTimeMSExpired (50) at `deadline` (epoch ms). */
  waitFor(key: string, deadline: number | null): Promise<void> {
    if (!this.owners.has(key)) return Promise.resolve();
    return new Promise<void>((resolve, reject) => {
      let timer: NodeJS.Timeout | undefined;
      const wake = () => {
        if (timer) clearTimeout(timer);
        resolve();
      };
      const list = this.waiters.get(key) ?? [];
      list.push(wake);
      this.waiters.set(key, list);
      if (deadline !== null) {
        timer = setTimeout(
          () => {
            const current = this.waiters.get(key);
            if (current) {
              const i = current.indexOf(wake);
              if (i >= 0) current.splice(i, 1);
              if (current.length === 0) this.waiters.delete(key);
            }
            reject(CommandError.of('MaxTimeMSExpired', 'operation exceeded time limit'));
          },
          Math.max(0, deadline - Date.now()),
        );
      }
    });
  }
}

/** Thrown inside a non-transactional write that must wait for `key`; the caller retries after. */
export class LockWait extends Error {
  constructor(readonly key: string) {
    super(`waiting for lock ${key}`);
    this.name = 'LockWait';
  }
}
