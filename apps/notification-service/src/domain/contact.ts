import { type FieldViolation, ValidationError } from '@trellis/platform/errors';
import { isValidEmail } from './email-address';

export interface PostalAddress {
  lines: string[];
  locality: string;
  region: string;
  postalCode: string;
  countryCode: string;
}

export interface Contact {
  id: string;
  /** Lower-cased; unique in the directory. */
  email: string;
  name: string;
  address?: PostalAddress;
  attributes: Record<string, string>;
  createdAt: Date;
}

/** A contact as the directory RPCs show it: with the categories it opted out of, sorted. */
export type ContactWithPreferences = Contact & { optedOutCategories: string[] };

export interface NewContact {
  email: string;
  name: string;
  address?: PostalAddress;
  attributes: Record<string, string>;
}

/** Validates a new contact (every problem at once) and returns it with the address lower-cased. */
export function validateNewContact(input: NewContact): NewContact {
  const violations: FieldViolation[] = [];
  const email = input.email.trim();
  if (!email) violations.push({ field: 'email', description: 'is required' });
  else if (!isValidEmail(email)) {
    violations.push({
      field: 'email',
      description: 'must be a valid email address (RFC 5322 addr-spec)',
    });
  }
  if (input.name.length > 200)
    violations.push({ field: 'name', description: 'must be at most 200 characters' });
  if (input.address) {
    if (input.address.lines.length > 4) {
      violations.push({ field: 'address.lines', description: 'at most 4 lines' });
    }
    const cc = input.address.countryCode;
    if (cc && !/^[A-Z]{2}$/.test(cc)) {
      violations.push({
        field: 'address.country_code',
        description: 'must be an ISO 3166-1 alpha-2 code, e.g. DE',
      });
    }
  }
  const entries = Object.entries(input.attributes);
  if (entries.length > 64)
    violations.push({ field: 'attributes', description: 'at most 64 entries' });
  for (const [key, value] of entries) {
    if (!key || key.length > 64) {
      violations.push({ field: `attributes[${key}]`, description: 'keys must be 1-64 characters' });
    }
    if (value.length > 1024) {
      violations.push({
        field: `attributes[${key}]`,
        description: 'values must be at most 1024 characters',
      });
    }
  }
  if (violations.length > 0) throw new ValidationError(violations);
  return { ...input, email: email.toLowerCase() };
}
