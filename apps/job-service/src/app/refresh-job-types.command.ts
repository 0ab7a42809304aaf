import type { JobTypeRegistry } from '../domain/job-type';
import type { JobTypeRepository } from './ports/job-type.repository.port';

export interface RefreshJobTypesDeps {
  catalog: JobTypeRepository;
  types: JobTypeRegistry;
  /** A stored type this build cannot compile (e.g. a lookahead `pattern` from before RE2). */
  onUnusable?: (name: string, err: unknown) => void;
}

/**
 * Brings this replica's registry up to the shared catalog: applies the types changed since the
 * last catalog revision it saw (all of them the first time). Returns how many it applied.
 */
export class RefreshJobTypes {
  private seen = 0;

  constructor(private readonly deps: RefreshJobTypesDeps) {}

  async execute(): Promise<number> {
    const { types, revision } = await this.deps.catalog.changedSince(this.seen);
    for (const type of types) {
      // One stored type that no longer compiles must not keep the others (or the service) down.
      try {
        this.deps.types.put(type);
      } catch (err) {
        this.deps.onUnusable?.(type.name, err);
      }
    }
    this.seen = Math.max(this.seen, revision);
    return types.length;
  }
}
