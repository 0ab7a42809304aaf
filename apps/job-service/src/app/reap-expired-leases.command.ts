import { expireLease, isLeaseExpired } from '../domain/job';
import type { ClaimNotifier } from './claim-notifier';
import { outcomeOf, runMsOf, type JobMetrics } from './job-metrics.port';
import type { JobRepository } from './job.repository.port';
import type { Runtime } from './runtime.port';

/**
 * Returns RUNNING jobs whose lease expired (crashed or hung worker) to PENDING with the attempt
 * counted, or DEAD when out of attempts, or CANCELLED when cancellation was requested. Runs in
 * one replica at a time (the caller holds a lease).
 */
export class ReapExpiredLeases {
  constructor(
    private readonly repository: JobRepository,
    private readonly notifier: ClaimNotifier,
    private readonly runtime: Runtime,
    private readonly metrics: JobMetrics,
  ) {}

  /** One pass; returns how many jobs it reaped. */
  async execute(batchSize = 100): Promise<number> {
    const ids = await this.repository.findExpiredLeases(this.runtime.now(), batchSize);
    let reaped = 0;
    for (const id of ids) {
      const now = this.runtime.now();
      let changed = false;
      const job = await this.repository.update(id, (current) => {
        if (!isLeaseExpired(current, now)) return { job: current, events: [] };
        changed = true;
        return expireLease(current, now, this.runtime.random());
      });
      if (!changed) continue;
      reaped++;
      this.metrics.attemptEnded(job, outcomeOf(job), runMsOf(job, now));
      if (job.state === 'PENDING') this.notifier.notify(job.type, job.runAt);
    }
    return reaped;
  }
}
