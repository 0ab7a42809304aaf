import { ValidationError, type FieldViolation } from '@trellis/platform/errors';

/** Checks the ids every worker and admin call carries; INVALID_ARGUMENT naming the field. */
export function requireFields(fields: Record<string, string>): void {
  const violations: FieldViolation[] = [];
  for (const [field, value] of Object.entries(fields))
    if (value === '') violations.push({ field, description: 'is required' });
  if (violations.length > 0) throw new ValidationError(violations);
}

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
