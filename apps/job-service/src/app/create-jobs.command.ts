import { outcomeOf, type BatchOutcome } from '@trellis/platform/batching';
import { ValidationError } from '@trellis/platform/errors';
import type { Job } from '../domain/job';
import type { JobTypeRegistry } from '../domain/job-type';
import type { JobRepository } from './ports/job.repository.port';
import type { Runtime } from './ports/runtime.port';
import type { ClaimNotifier } from './support/claim-notifier';
import { requireBatchSize } from './support/job-input';
import { buildJob, saveJob, type CreateJobInput } from './support/new-job';

export interface CreateJobsDeps {
  jobs: JobRepository;
  types: JobTypeRegistry;
  notifier: ClaimNotifier;
  runtime: Runtime;
}

/**
 * CreateJobs: every entry is validated first: an invalid one fails the call as a whole, naming
 * `jobs[i].<field>`, before anything is written. Then each is created on its own, in the
 * repository's next group commit, with its own outcome (e.g. ABORTED for a reused idempotency key).
 */
export class CreateJobs {
  constructor(private readonly deps: CreateJobsDeps) {}

  async execute(
    inputs: CreateJobInput[],
  ): Promise<Array<BatchOutcome<{ job: Job; created: boolean }>>> {
    requireBatchSize('jobs', inputs.length);
    const jobs = inputs.map((input, i) => {
      try {
        return buildJob(this.deps.types, this.deps.runtime, input);
      } catch (err) {
        throw err instanceof ValidationError ? err.within(`jobs[${i}]`) : err;
      }
    });
    return Promise.all(jobs.map((job) => outcomeOf(saveJob(this.deps, job))));
  }
}
