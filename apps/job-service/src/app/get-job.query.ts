import { NotFoundError, requireFields } from '@trellis/platform/errors';
import type { Job } from '../domain/job';
import { JOB_ID } from './job-input';
import type { JobRepository } from './job.repository.port';

export class GetJob {
  constructor(private readonly repository: JobRepository) {}

  async execute(input: { jobId: string }): Promise<Job> {
    requireFields({ job_id: [input.jobId, JOB_ID] });
    const job = await this.repository.findById(input.jobId);
    if (!job) throw new NotFoundError('job', input.jobId);
    return job;
  }
}
