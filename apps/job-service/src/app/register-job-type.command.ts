import { jobTypeExists, type JobTypeRegistry } from '../domain/job-type';
import type { JobTypeRepository, StoredJobType } from './ports/job-type.repository.port';
import type { Runtime } from './ports/runtime.port';
import { jobTypeFromInput, type JobTypeInput } from './support/job-type-input';

export interface RegisterJobTypeDeps {
  catalog: JobTypeRepository;
  types: JobTypeRegistry;
  runtime: Runtime;
}

/** Declares a new job type at run time: stored for every replica, usable here at once. */
export class RegisterJobType {
  constructor(private readonly deps: RegisterJobTypeDeps) {}

  async execute(input: JobTypeInput): Promise<StoredJobType> {
    const definition = jobTypeFromInput(input);
    const stored = await this.deps.catalog.insert(definition, this.deps.runtime.now());
    if (!stored) throw jobTypeExists(definition.name);
    this.deps.types.put(stored);
    return stored;
  }
}
