import { ValidationError } from '@trellis/platform/errors';

// RFC 5322 addr-spec in the dot-atom form every mail system accepts (no quoted local parts),
// with a domain of at least two labels.
const LOCAL = /^[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*$/;
const LABEL = /^[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?$/;

export function isValidEmail(value: string): boolean {
  if (value.length === 0 || value.length > 254) return false;
  const at = value.lastIndexOf('@');
  if (at <= 0 || at > 64) return false;
  return LOCAL.test(value.slice(0, at)) && isValidDomain(value.slice(at + 1));
}

export function isValidDomain(domain: string): boolean {
  const labels = domain.split('.');
  return domain.length <= 253 && labels.length >= 2 && labels.every((l) => LABEL.test(l));
}

/** The lower-cased address, or a ValidationError naming `field`. */
export function normalizeEmail(value: string, field: string): string {
  const trimmed = value.trim();
  if (!trimmed) throw ValidationError.field(field, 'is required');
  if (!isValidEmail(trimmed)) {
    throw ValidationError.field(field, 'must be a valid email address (RFC 5322 addr-spec)');
  }
  return trimmed.toLowerCase();
}

export function normalizeDomain(value: string, field: string): string {
  const domain = value.trim().toLowerCase();
  if (!isValidDomain(domain))
    throw ValidationError.field(field, 'must be a domain, e.g. example.com');
  return domain;
}

/** The domain part of a (normalized) address. */
export function emailDomain(email: string): string {
  return email.slice(email.lastIndexOf('@') + 1).toLowerCase();
}
