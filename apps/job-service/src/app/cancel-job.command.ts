import { ValidationError, requireFields } from '@trellis/platform/errors';
import { cancel, type Job } from '../domain/job';
import { JOB_ID } from './job-input';
import type { JobMetrics } from './job-metrics.port';
import type { JobRepository } from './job.repository.port';
import type { Runtime } from './runtime.port';

export class CancelJob {
  constructor(
    private readonly repository: JobRepository,
    private readonly runtime: Runtime,
    private readonly metrics: JobMetrics,
  ) {}

  async execute(input: { jobId: string; reason: string }): Promise<Job> {
    requireFields({ job_id: [input.jobId, JOB_ID] });
    if (input.reason.length > 256)
      throw ValidationError.field('reason', 'must be at most 256 characters');
    const now = this.runtime.now();
    let wasPending = false;
    const job = await this.repository.update(input.jobId, (current) => {
      wasPending = current.state === 'PENDING';
      return cancel(current, input.reason, now);
    });
    if (wasPending) this.metrics.attemptEnded(job, 'cancelled', null);
    return job;
  }
}
