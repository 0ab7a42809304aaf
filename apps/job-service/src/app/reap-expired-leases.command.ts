import { expireLease, isLeaseExpired } from '../domain/job';
import type { ClaimNotifier } from './support/claim-notifier';
import type { JobMetrics } from './ports/job-metrics.port';
import { outcomeOf, runMsOf } from './support/attempt-outcome';
import type { JobRepository } from './ports/job.repository.port';
import type { Runtime } from './ports/runtime.port';

export interface ReapExpiredLeasesDeps {
  jobs: JobRepository;
  notifier: ClaimNotifier;
  runtime: Runtime;
  metrics: JobMetrics;
}

/**
 * Returns RUNNING jobs whose lease expired (crashed or hung worker) to PENDING with the attempt
 * counted, or DEAD when out of attempts, or CANCELLED when cancellation was requested. Runs in
 * one replica at a time (the caller holds a lease).
 */
export class ReapExpiredLeases {
  constructor(private readonly deps: ReapExpiredLeasesDeps) {}

  /** One pass; returns how many jobs it reaped. */
  async execute(batchSize = 100): Promise<number> {
    const ids = await this.deps.jobs.findExpiredLeases(this.deps.runtime.now(), batchSize);
    let reaped = 0;
    for (const id of ids) {
      const now = this.deps.runtime.now();
      let changed = false;
      const job = await this.deps.jobs.update(id, (current) => {
        if (!isLeaseExpired(current, now)) return { job: current, events: [] };
        changed = true;
        return expireLease(current, now, this.deps.runtime.random());
      });
      if (!changed) continue;
      reaped++;
      this.deps.metrics.attemptEnded(job, outcomeOf(job), runMsOf(job, now));
      if (job.state === 'PENDING') this.deps.notifier.notify(job.type, job.runAt);
    }
    return reaped;
  }
}
