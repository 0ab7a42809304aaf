import type { JobTypeDefinition } from '../domain/job-type';
import type { JobTypeRepository } from './ports/job-type.repository.port';
import type { Runtime } from './ports/runtime.port';

export interface SeedJobTypesDeps {
  catalog: JobTypeRepository;
  runtime: Runtime;
}

/**
 * Stores the JOB_TYPES types at start (idempotent): missing ones are inserted, those still from
 * the configuration follow it, and a type registered or updated through the API is left alone,
 * so a replica restarting with an older JOB_TYPES never undoes a change made at run time.
 */
export class SeedJobTypes {
  constructor(private readonly deps: SeedJobTypesDeps) {}

  async execute(definitions: JobTypeDefinition[]): Promise<void> {
    await this.deps.catalog.seed(definitions, this.deps.runtime.now());
  }
}
