import { requireFields } from '@trellis/platform/errors';
import { retry, type Job } from '../domain/job';
import type { ClaimNotifier } from './support/claim-notifier';
import { JOB_ID } from './support/job-input';
import type { JobRepository } from './ports/job.repository.port';
import type { Runtime } from './ports/runtime.port';

export interface RetryJobDeps {
  jobs: JobRepository;
  notifier: ClaimNotifier;
  runtime: Runtime;
}

export class RetryJob {
  constructor(private readonly deps: RetryJobDeps) {}

  async execute(input: { jobId: string }): Promise<Job> {
    requireFields({ job_id: [input.jobId, JOB_ID] });
    const now = this.deps.runtime.now();
    const job = await this.deps.jobs.update(input.jobId, (current) => retry(current, now));
    this.deps.notifier.notify(job.type);
    return job;
  }
}
