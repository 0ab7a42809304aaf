import { uuidIdFormat, ValidationError } from '@trellis/platform/errors';

/** Job ids are `crypto.randomUUID()`s: anything else is INVALID_ARGUMENT, never NOT_FOUND. */
export const JOB_ID = uuidIdFormat('job');

/** Entries of one batch call (CreateJobs, CompleteJobs) at most. */
export const MAX_BATCH_ENTRIES = 100;

/** A batch call's list: 1 to MAX_BATCH_ENTRIES entries, else INVALID_ARGUMENT naming `field`. */
export function requireBatchSize(field: string, length: number): void {
  if (length === 0 || length > MAX_BATCH_ENTRIES)
    throw ValidationError.field(
      field,
      `must hold 1 to ${MAX_BATCH_ENTRIES} entries, not ${length}`,
    );
}
