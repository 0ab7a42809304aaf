import { type FieldViolation, ValidationError } from '@trellis/platform/errors';

/**
 * Mail categories (newsletter, product-news…): marketing mail names one and is unsubscribable per
 * category; transactional mail (receipts, welcome, alerts) has none ('') and is not.
 */
export const CATEGORY_PATTERN = /^[a-z][a-z0-9.-]{0,62}$/;
const SHAPE = '1-63 characters of [a-z0-9.-] starting with a letter';

/** The category of a marketing template or campaign that names none. */
export const DEFAULT_MARKETING_CATEGORY = 'marketing';

export function categoryViolation(field: string, value: string): FieldViolation | undefined {
  return CATEGORY_PATTERN.test(value)
    ? undefined
    : { field, description: `is not a valid category (${SHAPE})` };
}

/** A category given in a request: '' stays '' (none), anything else must be well formed. */
export function optionalCategory(value: string, field = 'category'): string {
  const category = value.trim();
  if (category === '') return '';
  const violation = categoryViolation(field, category);
  if (violation) throw new ValidationError([violation]);
  return category;
}

const MAX_CHANGES = 64;

/**
 * A change of a contact's preferences: the categories to opt out of and back into, each well
 * formed, none in both lists (every problem at once, each naming its field).
 */
export function validatePreferenceChange(change: { optOut: string[]; optIn: string[] }): {
  optOut: string[];
  optIn: string[];
} {
  const violations: FieldViolation[] = [];
  const check = (field: 'opt_out' | 'opt_in', values: string[]) => {
    if (values.length > MAX_CHANGES) {
      violations.push({ field, description: `at most ${MAX_CHANGES} categories` });
    }
    return values.map((raw, i) => {
      const value = raw.trim();
      const violation = categoryViolation(`${field}[${i}]`, value);
      if (violation) violations.push(violation);
      return value;
    });
  };
  const optOut = check('opt_out', change.optOut);
  const optIn = check('opt_in', change.optIn);
  optIn.forEach((category, i) => {
    if (optOut.includes(category)) {
      violations.push({ field: `opt_in[${i}]`, description: `"${category}" is also in opt_out` });
    }
  });
  if (violations.length > 0) throw new ValidationError(violations);
  return { optOut: [...new Set(optOut)], optIn: [...new Set(optIn)] };
}
