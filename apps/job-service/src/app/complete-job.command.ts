import { requireFields } from '@trellis/platform/errors';
import type { Job } from '../domain/job';
import { runMsOf } from './support/attempt-outcome';
import { completionOf, type CompleteJobInput, type CompletionDeps } from './support/completion';
import { JOB_ID } from './support/job-input';

export type { CompleteJobInput } from './support/completion';

export type CompleteJobDeps = CompletionDeps;

/** CompleteJob: the worker holding the lease reports success; the job becomes SUCCEEDED. */
export class CompleteJob {
  constructor(private readonly deps: CompleteJobDeps) {}

  async execute(input: CompleteJobInput): Promise<Job> {
    requireFields({ job_id: [input.jobId, JOB_ID], lease_token: input.leaseToken });
    const now = this.deps.runtime.now();
    const job = await this.deps.jobs.update(input.jobId, completionOf(this.deps.types, input, now));
    this.deps.metrics.attemptEnded(job, 'succeeded', runMsOf(job, now));
    return job;
  }
}
