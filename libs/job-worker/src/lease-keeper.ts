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

/** Keeps one claimed job's lease while its handler runs. */
export interface LeaseKeeper {
  /** The handler's signal: aborts on cancellation, a lost lease or `abort(reason)`. */
  readonly signal: AbortSignal;
  /** True once a heartbeat was answered with LEASE_LOST: nothing more may be reported. */
  readonly leaseLost: boolean;
  /** Records progress for the next heartbeat; beats at once if the last one is ≥ 1 s old. */
  progress(update: ProgressUpdate): void;
  /** Aborts the signal (stop() handing the job back) and ends the heartbeats. */
  abort(reason: Error): void;
  /** Ends the heartbeats and waits for one still in flight (its answer may lose the lease). */
  finish(): Promise<void>;
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
 * The lease keeper of one job: heartbeats every interval (one at a time), carrying the latest
 * progress, while the signal is not aborted; a `cancel_requested` answer aborts the signal with
 * JobCancelledError, a LEASE_LOST answer with LeaseLostError. A heartbeat that fails otherwise
 * keeps its progress for the next one.
 */
export function createLeaseKeeper(settings: LeaseKeeperSettings): LeaseKeeper {
  const { client, job, leaseToken, log } = settings;
  const controller = new AbortController();
  const signal = controller.signal;
  let pendingProgress: jobV1.JobProgress | undefined;
  let beating: Promise<void> | undefined;
  let lastBeat = Date.now();
  let leaseLost = false;

  const beat = () => {
    if (beating || signal.aborted) return;
    const progress = pendingProgress;
    pendingProgress = undefined;
    lastBeat = Date.now();
    beating = client
      .heartbeatJob({ jobId: job.id, leaseToken, progress })
      .then(
        (response) => {
          if (response.cancelRequested && !signal.aborted) {
            log.info('cancellation requested');
            controller.abort(new JobCancelledError(job.id));
          }
        },
        (err: unknown) => {
          if (isLeaseLost(err)) {
            leaseLost = true;
            log.warn({ err }, 'lease lost');
            if (!signal.aborted) controller.abort(new LeaseLostError(job.id));
          } else {
            if (progress && !pendingProgress) pendingProgress = progress;
            log.warn({ err }, 'heartbeat failed');
          }
        },
      )
      .finally(() => (beating = undefined));
  };
  const interval = Math.max(100, settings.heartbeatIntervalMs ?? Math.floor(leaseMsOf(job) / 3));
  const timer = setInterval(beat, interval);
  // Nothing left to keep alive once the lease is lost or stop() handed the job back.
  signal.addEventListener('abort', () => {
    if (!(signal.reason instanceof JobCancelledError)) clearInterval(timer);
  });

  return {
    signal,
    get leaseLost() {
      return leaseLost;
    },
    // An arrow: handlers destructure `progress` from their context.
    progress: (update) => {
      const counters: Record<string, bigint> = {};
      for (const [key, value] of Object.entries(update.counters ?? {}))
        counters[key] = typeof value === 'bigint' ? value : BigInt(Math.trunc(value));
      pendingProgress = {
        percent: update.percent ?? pendingProgress?.percent ?? 0,
        message: update.message ?? pendingProgress?.message ?? '',
        counters,
      };
      if (Date.now() - lastBeat >= 1_000) beat();
    },
    abort(reason) {
      controller.abort(reason);
    },
    async finish() {
      clearInterval(timer);
      await beating;
    },
  };
}
