import { ValidationError, requireFields } from '@trellis/platform/errors';
import { cancel, type Job } from '../domain/job';
import { JOB_ID } from './support/job-input';
import type { JobMetrics } from './ports/job-metrics.port';
import type { JobRepository } from './ports/job.repository.port';
import type { Runtime } from './ports/runtime.port';

export interface CancelJobDeps {
  jobs: JobRepository;
  runtime: Runtime;
  metrics: JobMetrics;
}

export class CancelJob {
  constructor(private readonly deps: CancelJobDeps) {}

  async execute(input: { jobId: string; reason: string }): Promise<Job> {
    requireFields({ job_id: [input.jobId, JOB_ID] });
    if (input.reason.length > 256)
      throw ValidationError.field('reason', 'must be at most 256 characters');
    const now = this.deps.runtime.now();
    let wasPending = false;
    const job = await this.deps.jobs.update(input.jobId, (current) => {
      wasPending = current.state === 'PENDING';
      return cancel(current, input.reason, now);
    });
    if (wasPending) this.deps.metrics.attemptEnded(job, 'cancelled', null);
    return job;
  }
}
