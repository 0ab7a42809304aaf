import { write, writeSync } from 'node:fs';

/** How long to wait before writing again when the reader of a full pipe has not caught up. */
const RETRY_MS = 10;
/** How long `flushSync` keeps retrying a full pipe (at exit) before giving the lines up. */
const FLUSH_SYNC_GIVE_UP_MS = 2_000;

/**
 * A pino destination that writes log lines to a file descriptor asynchronously, in batches: the
 * lines logged while one write is in flight go out together in the next one.
 *
 * It does what pino's default (sonic-boom, `sync: false`) does for a logger, without its cost on
 * a busy service: sonic-boom appends each line to a pending string and re-measures that whole
 * string's UTF-8 length on every write (`Buffer.byteLength`), which flattens it — a copy of up to
 * 16 KB per log line while a write is in flight. Here a line is pushed onto an array and the batch
 * is encoded once.
 *
 * Lines still pending when the process exits (`process.exit`, an uncaught exception, the end of the
 * event loop) are written synchronously by `flushSync`, which `stdoutLineWriter` registers on
 * `exit`; lines in flight are in the kernel's hands already. A closed pipe (EPIPE) stops logging
 * silently, as pino does; another write error stops it with one warning on stderr.
 */
export class LineWriter {
  private pending: string[] = [];
  private writing = false;
  private stopped = false;
  private waiting: Array<(err?: Error) => void> = [];

  constructor(private readonly fd: number) {}

  /** pino's stream interface: one serialized line, newline included. */
  write(line: string): boolean {
    if (this.stopped) return true;
    this.pending.push(line);
    if (!this.writing) this.writeBatch();
    return true;
  }

  /** Calls `done` once every line logged so far has been written. */
  flush(done?: (err?: Error) => void): void {
    if (!done) return;
    if (!this.writing || this.stopped) queueMicrotask(() => done());
    else this.waiting.push(done);
  }

  /** Writes the pending lines now, blocking; for the process's last moments. */
  flushSync(): void {
    if (this.stopped || this.pending.length === 0) return;
    let data = this.takeBatch();
    const giveUpAt = Date.now() + FLUSH_SYNC_GIVE_UP_MS;
    while (data.length > 0) {
      try {
        data = data.subarray(writeSync(this.fd, data));
      } catch (err) {
        if (!isBusy(err) || Date.now() > giveUpAt) {
          this.stop(err as NodeJS.ErrnoException);
          return;
        }
        sleep(RETRY_MS);
      }
    }
  }

  private takeBatch(): Buffer {
    const lines = this.pending;
    this.pending = [];
    return Buffer.from(lines.length === 1 ? lines[0] : lines.join(''));
  }

  private writeBatch(): void {
    this.writing = true;
    this.send(this.takeBatch());
  }

  private send(data: Buffer): void {
    write(this.fd, data, 0, data.length, null, (err, written) => {
      if (this.stopped) return;
      if (err) {
        if (isBusy(err)) setTimeout(() => this.send(data), RETRY_MS);
        else this.stop(err);
        return;
      }
      if (written < data.length) return this.send(data.subarray(written));
      if (this.pending.length > 0) return this.writeBatch();
      this.writing = false;
      const waiting = this.waiting;
      this.waiting = [];
      for (const done of waiting) done();
    });
  }

  private stop(err: NodeJS.ErrnoException): void {
    this.stopped = true;
    this.writing = false;
    this.pending = [];
    if (err.code !== 'EPIPE')
      process.emitWarning(`log lines to fd ${this.fd} are dropped from now on: ${err.message}`);
    const waiting = this.waiting;
    this.waiting = [];
    for (const done of waiting) done(err);
  }
}

function isBusy(err: unknown): boolean {
  const code = (err as NodeJS.ErrnoException).code;
  return code === 'EAGAIN' || code === 'EBUSY';
}

function sleep(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

let stdout: LineWriter | undefined;

/** The one writer of log lines to stdout (fd 1) in this process, flushed on exit. */
export function stdoutLineWriter(): LineWriter {
  if (!stdout) {
    const writer = new LineWriter(1);
    process.on('exit', () => writer.flushSync());
    stdout = writer;
  }
  return stdout;
}
