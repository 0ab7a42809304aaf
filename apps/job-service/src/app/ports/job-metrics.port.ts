import type { Job } from '../../domain/job';
import type { TerminalState } from '../../domain/retention';

export type JobOutcome = 'succeeded' | 'retried' | 'dead' | 'cancelled';

/** What the use cases report for metrics (implemented with prom-client in adapters/metrics). */
export interface JobMetrics {
  /** A job was claimed: the wait from due (run_at) to start. */
  claimed(job: Job, now: Date): void;
  /** An attempt ended; `runMs` is the attempt's run time when it was running. */
  attemptEnded(job: Job, outcome: JobOutcome, runMs: number | null): void;
  /** Retention removed `count` finished jobs of `type` in `state`. */
  removed(type: string, state: TerminalState, count: number): void;
}

export const noMetrics: JobMetrics = {
  claimed: () => undefined,
  attemptEnded: () => undefined,
  removed: () => undefined,
};
