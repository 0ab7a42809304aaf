import type { Job } from '../domain/job';

export type JobOutcome = 'succeeded' | 'retried' | 'dead' | 'cancelled';

/** What the use cases report for metrics (implemented with prom-client in adapters/metrics). */
export interface JobMetrics {
  /** A job was claimed: the wait from due (run_at) to start. */
  claimed(job: Job, now: Date): void;
  /** An attempt ended; `runMs` is the attempt's run time when it was running. */
  attemptEnded(job: Job, outcome: JobOutcome, runMs: number | null): void;
}

export const noMetrics: JobMetrics = { claimed: () => undefined, attemptEnded: () => undefined };

/** The outcome of an ended attempt, from the job's state after it. */
export function outcomeOf(job: Job): JobOutcome {
  switch (job.state) {
    case 'SUCCEEDED':
      return 'succeeded';
    case 'PENDING':
      return 'retried';
    case 'CANCELLED':
      return 'cancelled';
    default:
      return 'dead';
  }
}

/** Run time of the attempt that just ended (its start stays on the job). */
export function runMsOf(job: Job, now: Date): number | null {
  return job.startedAt ? Math.max(0, now.getTime() - job.startedAt.getTime()) : null;
}
