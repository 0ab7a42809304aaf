import { ClientError, Status } from 'nice-grpc-common';
import type { jobV1 } from '@trellis/contracts';
import type { Logger } from '@trellis/platform/logging';
import {
  JobCancelledError,
  LeaseLostError,
  type JobServiceClient,
  type ProgressUpdate,
} from './worker-api';

export interface LeaseKeeperSettings {
  client: Pick<JobServiceClient, 'heartbeatJob'>;
  job: jobV1.Job;
  leaseToken: string;
  /** Heartbeat period; default a third of the job's lease (at least 100 ms). */
  heartbeatIntervalMs?: number;
  /** The job's logger. */
  log: Logger;
}

function leaseMsOf(job: jobV1.Job): number {
  const d = job.leaseDuration;
  return d ? Number(d.seconds) * 1000 + Math.floor(d.nanos / 1e6) : 30_000;
}

function isLeaseLost(err: unknown): boolean {
  return (
    err instanceof ClientError &&
    (err.code === Status.FAILED_PRECONDITION || err.code === Status.NOT_FOUND)
  );
}

/**
 * The lease keeper of one job, from its claim until its handler returns: heartbeats every interval
 * (one at a time) carrying the latest progress, while the signal is not aborted; a
 * `cancel_requested` answer aborts the signal with JobCancelledError, a LEASE_LOST answer with
 * LeaseLostError. A heartbeat that fails otherwise keeps its progress for the next one.
 * (A class: one is made per job, and its methods are shared rather than closures per job.)
 */
export class LeaseKeeper {
  private lost = false;
  private readonly controller = new AbortController();
  private readonly timer: NodeJS.Timeout;
  private pendingProgress: jobV1.JobProgress | undefined;
  private beating: Promise<void> | undefined;
  private lastBeat = Date.now();
  private endsAt: number;

  constructor(private readonly settings: LeaseKeeperSettings) {
    const { heartbeatIntervalMs, job } = settings;
    // By the worker's own clock, from when the claim arrived: no skew against the service's.
    this.endsAt = Date.now() + leaseMsOf(job);
    const interval = Math.max(100, heartbeatIntervalMs ?? Math.floor(leaseMsOf(job) / 3));
    this.timer = setInterval(() => this.beat(), interval);
    // Nothing left to keep alive once the lease is lost or stop() handed the job back.
    this.signal.addEventListener('abort', () => {
      if (!(this.signal.reason instanceof JobCancelledError)) clearInterval(this.timer);
    });
  }

  /** True once a heartbeat was answered with LEASE_LOST: nothing more may be reported. */
  get leaseLost(): boolean {
    return this.lost;
  }

  /**
   * When the lease ends as far as this worker knows (ms since the epoch, its own clock): the claim's
   * arrival plus the lease, moved on by each answered heartbeat from when it was sent.
   */
  get leaseEndsAt(): number {
    return this.endsAt;
  }

  /** The handler's signal: aborts on cancellation, a lost lease or `abort(reason)`. */
  get signal(): AbortSignal {
    return this.controller.signal;
  }

  /**
   * Records progress for the next heartbeat; beats at once if the last one is ≥ 1 s old. An arrow:
   * handlers destructure `progress` from their context.
   */
  readonly progress = (update: ProgressUpdate): void => {
    const counters: Record<string, bigint> = {};
    for (const [key, value] of Object.entries(update.counters ?? {}))
      counters[key] = typeof value === 'bigint' ? value : BigInt(Math.trunc(value));
    this.pendingProgress = {
      percent: update.percent ?? this.pendingProgress?.percent ?? 0,
      message: update.message ?? this.pendingProgress?.message ?? '',
      counters,
    };
    if (Date.now() - this.lastBeat >= 1_000) this.beat();
  };

  /** Aborts the signal (stop() handing the job back), which ends the heartbeats. */
  abort(reason: Error): void {
    this.controller.abort(reason);
  }

  /**
   * Ends the heartbeats; returns the one still in flight, if any, to await (its answer may lose
   * the lease). Not async: no promise per job when no heartbeat is in flight.
   */
  finish(): Promise<void> | undefined {
    clearInterval(this.timer);
    return this.beating;
  }

  private beat(): void {
    if (this.beating || this.signal.aborted) return;
    const { client, job, leaseToken, log } = this.settings;
    const progress = this.pendingProgress;
    this.pendingProgress = undefined;
    const sentAt = (this.lastBeat = Date.now());
    this.beating = client
      .heartbeatJob({ jobId: job.id, leaseToken, progress })
      .then(
        (response) => {
          this.endsAt = sentAt + leaseMsOf(job);
          if (response.cancelRequested && !this.signal.aborted) {
            log.info('cancellation requested');
            this.controller.abort(new JobCancelledError(job.id));
          }
        },
        (err: unknown) => {
          if (isLeaseLost(err)) {
            this.lost = true;
            log.warn({ err }, 'lease lost');
            if (!this.signal.aborted) this.controller.abort(new LeaseLostError(job.id));
          } else {
            if (progress && !this.pendingProgress) this.pendingProgress = progress;
            log.warn({ err }, 'heartbeat failed');
          }
        },
      )
      .finally(() => (this.beating = undefined));
  }
}
