import type { Job } from '../domain/job';
import type { JobTypeRegistry } from '../domain/job-type';
import type { JobRepository } from './ports/job.repository.port';
import type { Runtime } from './ports/runtime.port';
import type { ClaimNotifier } from './support/claim-notifier';
import { buildJob, saveJob, type CreateJobInput } from './support/new-job';

export type { CreateJobInput } from './support/new-job';

export interface CreateJobDeps {
  jobs: JobRepository;
  types: JobTypeRegistry;
  notifier: ClaimNotifier;
  runtime: Runtime;
}

/** CreateJob: validates the request, then inserts the job (or finds it by idempotency key). */
export class CreateJob {
  constructor(private readonly deps: CreateJobDeps) {}

  async execute(input: CreateJobInput): Promise<{ job: Job; created: boolean }> {
    return saveJob(this.deps, buildJob(this.deps.types, this.deps.runtime, input));
  }
}
