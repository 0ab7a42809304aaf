import { ClientError, Status } from 'nice-grpc-common';
import type { Logger } from '@trellis/platform/logging';
import { MAX_ENTRIES_PER_CALL } from './batched-calls';
import type { JobServiceClient } from './worker-api';

/** Lines a job may have waiting to be sent; beyond it the oldest waiting are dropped and counted. */
export const MAX_PENDING_LOG_LINES = 1_000;

export interface JobLogBufferSettings {
  client: JobServiceClient;
  jobId: string;
  leaseToken: string;
  /** How often waiting lines are sent while the handler runs (default 1 s). */
  flushIntervalMs?: number;
  /** The job's logger: where lines go when the service has no AppendJobLogs. */
  log: Logger;
}

const endsTheLog = (err: unknown) =>
  err instanceof ClientError &&
  [
    // The lease was lost (or the job is gone): the service refuses anything more for it.
    Status.FAILED_PRECONDITION,
    Status.NOT_FOUND,
    // A job-service without AppendJobLogs, or a caller not allowed to call it.
    Status.UNIMPLEMENTED,
    Status.PERMISSION_DENIED,
    Status.INVALID_ARGUMENT,
  ].includes(err.code);

/**
 * The log lines of one running job (`job.log(...)` in a handler): kept in memory and sent with
 * AppendJobLogs under the job's lease — every `flushIntervalMs` while the handler runs, and once
 * more before its outcome is reported — up to 100 lines per call, one call at a time. Once the
 * service refuses the lease, lines are dropped: a worker that lost its lease writes nothing.
 */
export class JobLogBuffer {
  private pending: Array<{ message: string; loggedAt: Date }> = [];
  private droppedLocally = 0;
  private closed = false;
  private sending: Promise<void> | undefined;
  /** Started by the first line: a job that logs nothing costs no timer (the worker's hot path). */
  private timer: NodeJS.Timeout | undefined;

  constructor(private readonly settings: JobLogBufferSettings) {}

  /** Adds a line (an arrow: handlers destructure `log` from their context). */
  readonly log = (message: string): void => {
    if (this.closed || message === '') return;
    if (!this.settings.client.appendJobLogs) {
      this.settings.log.info({ job_log: message }, 'job log');
      return;
    }
    this.pending.push({ message, loggedAt: new Date() });
    if (!this.timer) {
      this.timer = setInterval(() => void this.flush(), this.settings.flushIntervalMs ?? 1_000);
      this.timer.unref();
    }
    if (this.pending.length > MAX_PENDING_LOG_LINES) {
      this.pending.shift();
      this.droppedLocally++;
    }
  };

  /** Sends what is waiting (one call at a time); resolves when nothing is left or the log ended. */
  flush(): Promise<void> {
    this.sending ??= this.send().finally(() => (this.sending = undefined));
    return this.sending;
  }

  /**
   * Stops the periodic sends and sends the rest; never throws. Not async: nothing to await for a
   * job that logged nothing.
   */
  close(): Promise<void> | undefined {
    clearInterval(this.timer);
    if (this.pending.length === 0 && !this.sending) {
      this.closed = true;
      return undefined;
    }
    return this.flush().then(() => {
      this.closed = true;
      this.pending = [];
    });
  }

  /** Drops what is waiting: the lease is gone. */
  discard(): void {
    clearInterval(this.timer);
    this.closed = true;
    this.pending = [];
  }

  private async send(): Promise<void> {
    const { client, jobId, leaseToken, log } = this.settings;
    while (this.pending.length > 0 && !this.closed && client.appendJobLogs) {
      if (this.droppedLocally > 0) {
        this.pending.unshift({
          message: `[job-worker] ${this.droppedLocally} earlier lines were dropped: more than ${MAX_PENDING_LOG_LINES} waited to be sent`,
          loggedAt: new Date(),
        });
        this.droppedLocally = 0;
      }
      const lines = this.pending.slice(0, MAX_ENTRIES_PER_CALL);
      try {
        await client.appendJobLogs({ jobId, leaseToken, lines });
        this.pending.splice(0, lines.length);
      } catch (err) {
        if (endsTheLog(err)) {
          log.warn({ err }, 'job log lines not accepted; later lines are dropped');
          this.discard();
        } else log.warn({ err }, 'could not send job log lines; retrying with the next flush');
        return;
      }
    }
  }
}
