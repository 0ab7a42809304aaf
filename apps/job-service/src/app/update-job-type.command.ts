import { NotFoundError, ValidationError } from '@trellis/platform/errors';
import { jobTypeRevisionMismatch, type JobTypeRegistry } from '../domain/job-type';
import type { JobTypeRepository, StoredJobType } from './ports/job-type.repository.port';
import type { Runtime } from './ports/runtime.port';
import { jobTypeFromInput, type JobTypeInput } from './support/job-type-input';

export interface UpdateJobTypeDeps {
  catalog: JobTypeRepository;
  types: JobTypeRegistry;
  runtime: Runtime;
}

/** Replaces a job type's definition for every replica (this one at once). */
export class UpdateJobType {
  constructor(private readonly deps: UpdateJobTypeDeps) {}

  async execute(input: JobTypeInput & { expectedRevision: number }): Promise<StoredJobType> {
    if (!(Number.isSafeInteger(input.expectedRevision) && input.expectedRevision >= 0))
      throw ValidationError.field(
        'expected_revision',
        'must be a revision from ListJobTypes, or 0',
      );
    const definition = jobTypeFromInput(input);
    const { stored, exists } = await this.deps.catalog.replace(
      definition,
      input.expectedRevision,
      this.deps.runtime.now(),
    );
    if (!stored) {
      if (!exists) throw new NotFoundError('job_type', definition.name);
      throw jobTypeRevisionMismatch(definition.name, input.expectedRevision);
    }
    this.deps.types.put(stored);
    return stored;
  }
}
