import {
  type FieldViolation,
  idempotencyKeyViolation,
  idViolation,
  pageSizeOf,
  pageSizeViolation,
  ValidationError,
} from '@trellis/platform/errors';
import { ACCOUNT_ID } from './ids';
import { currencyProblem, type Money } from './money';

/**
 * Collects every field violation of a request, so one INVALID_ARGUMENT names all bad fields
 * (proto snake_case paths, e.g. `amount.units`).
 */
export class Violations {
  readonly list: FieldViolation[] = [];

  add(field: string, description: string): void {
    this.list.push({ field, description });
  }

  throwIfAny(): void {
    if (this.list.length > 0) throw new ValidationError(this.list);
  }

  accountId(field: string, value: string): void {
    const violation = idViolation(field, value, ACCOUNT_ID);
    if (violation) this.list.push(violation);
  }

  /** 1-200 characters after trimming. */
  ownerName(field: string, value: string): void {
    const trimmed = value.trim();
    if (trimmed.length === 0) this.add(field, 'is required');
    else if ([...trimmed].length > 200) this.add(field, 'must be at most 200 characters');
  }

  email(field: string, value: string): void {
    if (value === '') this.add(field, 'is required');
    else if (!isEmailAddress(value)) this.add(field, 'is not a valid email address');
  }

  currency(field: string, value: string): boolean {
    const problem = value === '' ? 'is required' : currencyProblem(value);
    if (problem) this.add(field, problem);
    return problem === undefined;
  }

  /** An amount in a request: present, a valid currency, 0 < units <= max. */
  amount(field: string, value: Money | undefined, maxUnits: bigint): void {
    if (value === undefined) {
      this.add(field, 'is required');
      return;
    }
    this.currency(`${field}.currency_code`, value.currency);
    if (value.units <= 0n) this.add(`${field}.units`, 'must be greater than zero');
    else if (value.units > maxUnits) this.add(`${field}.units`, `must be at most ${maxUnits}`);
  }

  /** Required, 1-128 printable ASCII characters. */
  idempotencyKey(field: string, value: string): void {
    const violation = idempotencyKeyViolation(field, value, true);
    if (violation) this.list.push(violation);
  }

  /** Optional free text up to `max` characters. */
  text(field: string, value: string, max = 256): void {
    if ([...value].length > max) this.add(field, `must be at most ${max} characters`);
  }

  /** AIP-158: 0 means the default, above the maximum is coerced, negative is invalid. */
  pageSize(field: string, value: number): number {
    const violation = pageSizeViolation(field, value);
    if (violation) this.list.push(violation);
    return pageSizeOf(value);
  }
}

// RFC 5322 addr-spec restricted to what mail systems accept in practice: a dot-atom local part
// and a domain of LDH labels with a dotted TLD; at most 254 characters, local part at most 64.
const LOCAL_PART = /^[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*$/;
const DOMAIN_LABEL = /^[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?$/;

export function isEmailAddress(value: string): boolean {
  if (value.length > 254) return false;
  const at = value.lastIndexOf('@');
  if (at <= 0) return false;
  const local = value.slice(0, at);
  const domain = value.slice(at + 1);
  if (local.length > 64 || !LOCAL_PART.test(local)) return false;
  const labels = domain.split('.');
  return (
    labels.length >= 2 &&
    labels.every((label) => DOMAIN_LABEL.test(label)) &&
    /^[A-Za-z]{2,}$/.test(labels[labels.length - 1])
  );
}
