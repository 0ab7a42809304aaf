import { ValidationError } from '@trellis/platform/errors';
import { isAccountId, newAccountId, ulid } from './ids';
import { currencyProblem } from './money';
import { isEmailAddress, Violations } from './validation';

describe('validation', () => {
  it('accepts real addresses and refuses the rest', () => {
    for (const ok of ['a@example.com', 'first.last+tag@sub.example.co.uk', "o'neil@x.io"]) {
      expect(isEmailAddress(ok)).toBe(true);
    }
    for (const bad of [
      '',
      'plain',
      'a@b',
      '@example.com',
      'a@@b.com',
      'a b@c.com',
      'a.@b.com',
      'a@-b.com',
      `${'a'.repeat(65)}@b.com`,
      `a@${'b'.repeat(250)}.com`,
    ]) {
      expect(isEmailAddress(bad)).toBe(false);
    }
  });

  it('knows ISO 4217 codes', () => {
    expect(currencyProblem('EUR')).toBeUndefined();
    expect(currencyProblem('JPY')).toBeUndefined();
    expect(currencyProblem('eur')).toMatch(/three upper-case/);
    expect(currencyProblem('EURO')).toMatch(/three upper-case/);
    expect(currencyProblem('ABC')).toMatch(/not a supported/);
  });

  it('collects every violation into one error naming the fields', () => {
    const v = new Violations();
    v.amount('amount', { currency: 'eur', units: 0n }, 100n);
    v.idempotencyKey('idempotency_key', 'bad\nkey');
    v.accountId('account_id', 'acc_nope');
    expect(v.pageSize('page_size', 0)).toBe(50);
    expect(v.pageSize('page_size', 5000)).toBe(1000);
    let error: unknown;
    try {
      v.throwIfAny();
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(ValidationError);
    expect((error as ValidationError).fieldViolations.map((f) => f.field)).toEqual([
      'amount.currency_code',
      'amount.units',
      'idempotency_key',
      'account_id',
    ]);
  });

  it('issues monotonic, well-formed ids', () => {
    const ids = Array.from({ length: 1000 }, () => ulid(1_700_000_000_000));
    expect([...ids].sort()).toEqual(ids);
    expect(new Set(ids).size).toBe(ids.length);
    const id = newAccountId();
    expect(isAccountId(id)).toBe(true);
    expect(isAccountId(id.toLowerCase())).toBe(false);
    expect(isAccountId('acc_')).toBe(false);
  });
});
