import type { JobTypeDefinition } from '../../domain/job-type';

/** A stored job type: its definition with `source`, `revision` and `updatedAt` set. */
export type StoredJobType = JobTypeDefinition &
  Required<Pick<JobTypeDefinition, 'source' | 'revision' | 'updatedAt'>>;

/**
 * The job type catalog shared by every replica. Every change takes the next catalog revision, so
 * a replica catches up by asking for what changed after the last revision it saw.
 */
export interface JobTypeRepository {
  /**
   * Stores the JOB_TYPES types: inserts the missing ones and updates those still of source
   * 'config' whose definition differs; never touches a type of source 'api'. Idempotent.
   */
  seed(definitions: JobTypeDefinition[], now: Date): Promise<void>;
  /** Inserts a new type (source 'api'); null when the name is taken. */
  insert(definition: JobTypeDefinition, now: Date): Promise<StoredJobType | null>;
  /**
   * Replaces a type (source becomes 'api'); null when there is none, or when `expectedRevision`
   * (unless 0) is not its revision — `exists` tells which.
   */
  replace(
    definition: JobTypeDefinition,
    expectedRevision: number,
    now: Date,
  ): Promise<{ stored: StoredJobType | null; exists: boolean }>;
  /** Types changed after catalog revision `revision` (all for 0), with the latest revision. */
  changedSince(revision: number): Promise<{ types: StoredJobType[]; revision: number }>;
}
