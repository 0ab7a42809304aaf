import { requireFields } from '@trellis/platform/errors';
import { retry, type Job } from '../domain/job';
import type { ClaimNotifier } from './claim-notifier';
import { JOB_ID } from './job-input';
import type { JobRepository } from './job.repository.port';
import type { Runtime } from './runtime.port';

export class RetryJob {
  constructor(
    private readonly repository: JobRepository,
    private readonly notifier: ClaimNotifier,
    private readonly runtime: Runtime,
  ) {}

  async execute(input: { jobId: string }): Promise<Job> {
    requireFields({ job_id: [input.jobId, JOB_ID] });
    const now = this.runtime.now();
    const job = await this.repository.update(input.jobId, (current) => retry(current, now));
    this.notifier.notify(job.type);
    return job;
  }
}
