import { NotFoundError, requireFields } from '@trellis/platform/errors';
import type { Job } from '../domain/job';
import { JOB_ID } from './support/job-input';
import type { JobRepository } from './ports/job.repository.port';

export interface GetJobDeps {
  jobs: JobRepository;
}

export class GetJob {
  constructor(private readonly deps: GetJobDeps) {}

  async execute(input: { jobId: string }): Promise<Job> {
    requireFields({ job_id: [input.jobId, JOB_ID] });
    const job = await this.deps.jobs.findById(input.jobId);
    if (!job) throw new NotFoundError('job', input.jobId);
    return job;
  }
}
