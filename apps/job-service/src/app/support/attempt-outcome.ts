import type { Job } from '../../domain/job';
import type { JobOutcome } from '../ports/job-metrics.port';

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
