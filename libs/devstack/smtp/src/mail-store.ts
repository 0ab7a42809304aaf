import { mkdir, open, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { GroupCommit, type BatchOutcome } from '@trellis/platform/batching';
import type { SinkMessage } from './smtp-sink';

type Change = { add: SinkMessage } | { clear: true };

const FILE = 'messages.jsonl';

/**
 * The sink's messages: in memory, and with a data directory also in `messages.jsonl` there (one
 * JSON message per line), reloaded at start. `add` resolves once the message is durable — written
 * and fdatasync'ed — and only then is it visible in `messages`, so the sink can answer 250 after it.
 * Messages arriving while a batch is being written go together in the next batch (group commit:
 * one write and one fdatasync for all of them).
 */
export class MailStore {
  /** Every stored message, oldest first. */
  readonly messages: SinkMessage[] = [];
  private readonly commits: GroupCommit<Change, void> | undefined;
  private readonly inFlight = new Set<Promise<void>>();
  /** The file may end in a torn line (a crash or failed write); the next write starts a new line. */
  private startNewLine = false;

  private constructor(file: string | undefined) {
    this.commits = file ? new GroupCommit((batch) => this.commit(file, batch)) : undefined;
  }

  /** Opens the store; with `dataDir`, loads `messages.jsonl` from it (unreadable lines skipped). */
  static async open(
    dataDir: string | undefined,
    log: (line: string) => void = () => undefined,
  ): Promise<MailStore> {
    if (!dataDir) return new MailStore(undefined);
    const store = new MailStore(join(dataDir, FILE));
    await mkdir(dataDir, { recursive: true });
    const existing = await readFile(join(dataDir, FILE), 'utf8').catch(() => '');
    for (const line of existing.split('\n')) {
      if (!line.trim()) continue;
      try {
        store.messages.push(JSON.parse(line) as SinkMessage);
      } catch {
        log('skipping an unreadable line of the data file');
      }
    }
    store.startNewLine = existing.length > 0 && !existing.endsWith('\n');
    // Create the file now and sync the directory, so the file's own entry is durable too.
    await (await open(join(dataDir, FILE), 'a')).close();
    const dir = await open(dataDir, 'r');
    await dir.sync().finally(() => dir.close());
    return store;
  }

  /** Resolves once `message` is durable and listed; rejects if it could not be written. */
  add(message: SinkMessage): Promise<void> {
    if (!this.commits) {
      this.messages.push(message);
      return Promise.resolve();
    }
    return this.track(this.commits.submit({ add: message }));
  }

  /** Forgets every message (and truncates the data file), in order with the adds around it. */
  clear(): Promise<void> {
    if (!this.commits) {
      this.messages.length = 0;
      return Promise.resolve();
    }
    return this.track(this.commits.submit({ clear: true }));
  }

  /** Waits for the writes in flight. */
  async close(): Promise<void> {
    await Promise.allSettled([...this.inFlight]);
  }

  private track(promise: Promise<void>): Promise<void> {
    this.inFlight.add(promise);
    const forget = () => void this.inFlight.delete(promise);
    promise.then(forget, forget);
    return promise;
  }

  /**
   * Writes a batch in order — each run of adds in one write, a clear as a truncation — then one
   * fdatasync; a change is applied to `messages` only once all that succeeded. The file is opened
   * per batch, so a data file replaced or removed under a running sink is simply written anew.
   */
  private async commit(file: string, batch: Change[]): Promise<Array<BatchOutcome<void>>> {
    const failed = new Map<number, unknown>();
    const handle = await open(file, 'a');
    try {
      let run: Array<{ i: number; line: string }> = [];
      const writeRun = async () => {
        if (run.length === 0) return;
        const lines = run;
        run = [];
        const text = (this.startNewLine ? '\n' : '') + lines.map((l) => l.line).join('\n') + '\n';
        try {
          await handle.appendFile(text); // loops until all is written, unlike one write()
          this.startNewLine = false;
        } catch (err) {
          this.startNewLine = true;
          for (const { i } of lines) failed.set(i, err);
        }
      };
      for (const [i, change] of batch.entries()) {
        if ('add' in change) {
          run.push({ i, line: JSON.stringify(change.add) });
          continue;
        }
        await writeRun();
        try {
          await handle.truncate(0);
          this.startNewLine = false;
        } catch (err) {
          failed.set(i, err);
        }
      }
      await writeRun();
      try {
        await handle.datasync();
      } catch (err) {
        for (const i of batch.keys()) if (!failed.has(i)) failed.set(i, err);
      }
    } finally {
      await handle.close();
    }
    return batch.map((change, i) => {
      if (failed.has(i)) return { error: failed.get(i) };
      if ('add' in change) this.messages.push(change.add);
      else this.messages.length = 0;
      return { value: undefined };
    });
  }
}
