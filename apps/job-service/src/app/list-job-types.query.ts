import type { JobTypeDefinition, JobTypeRegistry } from '../domain/job-type';

export interface ListJobTypesDeps {
  types: JobTypeRegistry;
}

export class ListJobTypes {
  constructor(private readonly deps: ListJobTypesDeps) {}

  execute(): JobTypeDefinition[] {
    return this.deps.types.list();
  }
}
