import { ValidationError, type FieldViolation } from './domain-error';

/**
 * What a kind of id looks like. Every service checks ids against their format first, so the same
 * mistake gets the same answer everywhere: a malformed id is INVALID_ARGUMENT naming the field
 * (`job_id: is not a valid job id (expected a UUID)`), and only a well-formed id that does not
 * exist is NOT_FOUND.
 */
export interface IdFormat {
  /** What the id names, e.g. `job` → "is not a valid job id". */
  readonly noun: string;
  readonly pattern: RegExp;
  /** The shape, for the caller: `a UUID`. */
  readonly shape: string;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** Ids made by `crypto.randomUUID()`. */
export function uuidIdFormat(noun: string): IdFormat {
  return { noun, pattern: UUID, shape: 'a UUID' };
}

/** The violation of an id field, if any: empty is `is required` unless `optional`. */
export function idViolation(
  field: string,
  value: string,
  format: IdFormat,
  optional = false,
): FieldViolation | undefined {
  if (value === '') return optional ? undefined : { field, description: 'is required' };
  if (!format.pattern.test(value))
    return {
      field,
      description: `is not a valid ${format.noun} id (expected ${format.shape})`,
    };
  return undefined;
}

/**
 * Checks the fields that say what a call is about: a plain string must be present, a
 * `[value, format]` pair must be a well-formed id. INVALID_ARGUMENT naming every bad field.
 */
export function requireFields(
  fields: Record<string, string | readonly [value: string, format: IdFormat]>,
): void {
  const violations: FieldViolation[] = [];
  for (const [field, check] of Object.entries(fields)) {
    const violation =
      typeof check === 'string'
        ? check === ''
          ? { field, description: 'is required' }
          : undefined
        : idViolation(field, check[0], check[1]);
    if (violation) violations.push(violation);
  }
  if (violations.length > 0) throw new ValidationError(violations);
}

/**
 * A `[after, before)` time filter that no record can match (`after` not earlier than `before`):
 * refused, naming the `after` field, rather than answered with an empty page.
 */
export function timeRangeViolation(
  after: { field: string; value: Date | undefined },
  before: { field: string; value: Date | undefined },
): FieldViolation | undefined {
  if (!after.value || !before.value || after.value < before.value) return undefined;
  return {
    field: after.field,
    description: `must be earlier than ${before.field} (${before.value.toISOString()}); no record can match`,
  };
}
