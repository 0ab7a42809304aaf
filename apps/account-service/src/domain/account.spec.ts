import { PreconditionFailedError } from '@trellis/platform/errors';
import {
  type Account,
  close,
  credit,
  debit,
  freeze,
  openAccount,
  postExternal,
  unfreeze,
} from './account';
import { INT64_MAX } from './money';

const now = new Date('2026-01-01T00:00:00Z');
const account = (over: Partial<Account> = {}): Account => ({
  ...openAccount({
    id: 'acc_1',
    ownerName: ' Ada ',
    email: 'a@b.cd',
    currency: 'EUR',
    overdraftLimit: 100n,
    now,
  }),
  ...over,
});

function reasonOf(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (err) {
    if (err instanceof PreconditionFailedError) return err.reason;
    throw err;
  }
  return undefined;
}

describe('Account', () => {
  it('opens ACTIVE at zero, version 1, with a trimmed name', () => {
    expect(account()).toMatchObject({
      ownerName: 'Ada',
      balance: 0n,
      status: 'ACTIVE',
      version: 1,
    });
  });

  it('debits down to -overdraft_limit and no further', () => {
    const debited = debit(account(), 100n, now);
    expect(debited).toMatchObject({ balance: -100n, version: 2 });
    expect(reasonOf(() => debit(debited, 1n, now))).toBe('INSUFFICIENT_FUNDS');
    expect(reasonOf(() => debit(account({ overdraftLimit: 0n }), 1n, now))).toBe(
      'INSUFFICIENT_FUNDS',
    );
  });

  it('says insufficient funds without talking of an overdraft the account does not have', () => {
    const messageOf = (fn: () => unknown) => {
      try {
        fn();
      } catch (err) {
        return (err as Error).message;
      }
      return '';
    };
    const plain = account({
      id: 'acc_01ARZ3NDEKTSV4RRFFQ69G5FAV',
      overdraftLimit: 0n,
      balance: 50n,
    });
    expect(messageOf(() => debit(plain, 80n, now))).toBe(
      'account acc_01ARZ3NDEKTSV4RRFFQ69G5FAV has insufficient funds: a debit of 80 from a balance of 50 (EUR minor units)',
    );
    expect(messageOf(() => debit(plain, 80n, now))).not.toMatch(/overdraft/);
    const overdrawn = account({ id: 'acc_01ARZ3NDEKTSV4RRFFQ69G5FAV', overdraftLimit: 100n });
    expect(messageOf(() => debit(overdrawn, 101n, now))).toBe(
      'account acc_01ARZ3NDEKTSV4RRFFQ69G5FAV has insufficient funds: a debit of 101 from a balance of 0 beyond its overdraft limit of 100 (EUR minor units)',
    );
  });

  it('credits in bigint without overflowing int64', () => {
    expect(credit(account({ balance: INT64_MAX - 1n }), 1n, now).balance).toBe(INT64_MAX);
    expect(() => credit(account({ balance: INT64_MAX }), 1n, now)).toThrow('amount.units');
  });

  it('rejects movements on frozen and closed accounts', () => {
    expect(reasonOf(() => credit(account({ status: 'FROZEN' }), 1n, now))).toBe('ACCOUNT_FROZEN');
    expect(reasonOf(() => debit(account({ status: 'CLOSED' }), 1n, now))).toBe('ACCOUNT_CLOSED');
  });

  it('follows ACTIVE ⇄ FROZEN → CLOSED, closing only at zero', () => {
    const frozen = freeze(account(), now);
    expect(frozen).toMatchObject({ status: 'FROZEN', version: 2 });
    expect(reasonOf(() => freeze(frozen, now))).toBe('ILLEGAL_TRANSITION');
    expect(unfreeze(frozen, now).status).toBe('ACTIVE');
    expect(reasonOf(() => unfreeze(account(), now))).toBe('ILLEGAL_TRANSITION');
    expect(reasonOf(() => close(account({ balance: -1n }), now))).toBe('NONZERO_BALANCE');
    const closed = close(frozen, now);
    expect(closed).toMatchObject({ status: 'CLOSED', closedAt: now });
    for (const change of [freeze, unfreeze, close]) {
      expect(reasonOf(() => change(closed, now))).toBe('ACCOUNT_CLOSED');
    }
  });

  it('posts to the external account without limits', () => {
    const ext = { id: 'external:EUR', currency: 'EUR', balance: 0n, version: 0 };
    expect(postExternal(ext, 'DEBIT', 5n)).toEqual({ ...ext, balance: -5n, version: 1 });
    expect(postExternal(ext, 'CREDIT', 5n)).toEqual({ ...ext, balance: 5n, version: 1 });
  });
});
