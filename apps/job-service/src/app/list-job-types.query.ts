import type { JobTypeDefinition, JobTypeRegistry } from '../domain/job-type';

export class ListJobTypes {
  constructor(private readonly types: JobTypeRegistry) {}

  execute(): JobTypeDefinition[] {
    return this.types.list();
  }
}
