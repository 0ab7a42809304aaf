import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import { JOB_STATES, type Job } from '../../domain/job';
import type { JobMetrics, JobOutcome } from '../../app/ports/job-metrics.port';
import type { JobRepository } from '../../app/ports/job.repository.port';

const SECONDS_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900];

/** Job metrics on the service's registry (served on METRICS_PORT). */
export function createPromJobMetrics(registry: Registry, repository: JobRepository): JobMetrics {
  new Gauge({
    name: 'job_queue_depth',
    help: 'Jobs by type and state (counted in MongoDB at scrape time)',
    labelNames: ['type', 'state'],
    registers: [registry],
    async collect() {
      const rows = await repository.countByTypeAndState([]).catch(() => []);
      this.reset();
      const seen = new Set<string>();
      for (const row of rows) {
        this.set({ type: row.type, state: row.state }, row.count);
        seen.add(row.type);
      }
      for (const type of seen)
        for (const state of JOB_STATES)
          if (!rows.some((r) => r.type === type && r.state === state)) this.set({ type, state }, 0);
    },
  });
  const claimLatency = new Histogram({
    name: 'job_claim_latency_seconds',
    help: 'From when a job became due (run_at) to when a worker claimed it',
    labelNames: ['type'],
    buckets: SECONDS_BUCKETS,
    registers: [registry],
  });
  const runTime = new Histogram({
    name: 'job_run_duration_seconds',
    help: 'Run time of an attempt, from claim to its end, by outcome',
    labelNames: ['type', 'outcome'],
    buckets: SECONDS_BUCKETS,
    registers: [registry],
  });
  const outcomes = new Counter({
    name: 'job_outcomes_total',
    help: 'Ended attempts and cancellations by type and outcome (succeeded, retried, dead, cancelled)',
    labelNames: ['type', 'outcome'],
    registers: [registry],
  });
  const removals = new Counter({
    name: 'job_retention_removed_total',
    help: 'Finished jobs (with their logs) removed by retention, by type and state',
    labelNames: ['type', 'state'],
    registers: [registry],
  });
  return {
    removed(type: string, state: string, count: number) {
      removals.inc({ type, state }, count);
    },
    claimed(job: Job, now: Date) {
      claimLatency.observe(
        { type: job.type },
        Math.max(0, now.getTime() - job.runAt.getTime()) / 1000,
      );
    },
    attemptEnded(job: Job, outcome: JobOutcome, runMs: number | null) {
      outcomes.inc({ type: job.type, outcome });
      if (runMs !== null) runTime.observe({ type: job.type, outcome }, runMs / 1000);
    },
  };
}
