import { ValidationError, type FieldViolation } from '@trellis/platform/errors';

/** Checks the ids every worker and admin call carries; INVALID_ARGUMENT naming the field. */
export function requireFields(fields: Record<string, string>): void {
  const violations: FieldViolation[] = [];
  for (const [field, value] of Object.entries(fields))
    if (value === '') violations.push({ field, description: 'is required' });
  if (violations.length > 0) throw new ValidationError(violations);
}
