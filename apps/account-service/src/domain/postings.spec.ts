import { DomainError } from '@trellis/platform/errors';
import { testAccount, testNow } from '../../test/account.fixture';
import { type Account, type ExternalAccount, freeze } from './account';
import { deposit, type PostingArgs, transfer, withdraw } from './postings';

const now = testNow;
const account = testAccount;
const external: ExternalAccount = { id: 'external:EUR', currency: 'EUR', balance: 0n, version: 0 };
const args = (units: bigint, currency = 'EUR'): PostingArgs => ({
  amount: { currency, units },
  reference: 'ref',
  idempotencyKey: 'k',
  transactionId: 'txn_1',
  entryIds: ['ent_1', 'ent_2'],
});
const book = (...accounts: Account[]) => ({
  accounts: new Map(accounts.map((a) => [a.id, a])),
  external,
});

function reasonOf(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (err) {
    if (err instanceof DomainError) return err.reason;
    throw err;
  }
  return undefined;
}

describe('postings', () => {
  it('deposit credits the account from the external account, with its event', () => {
    const t = deposit(book(account('a')), { ...args(30n), accountId: 'a' }, now);
    expect(t.accounts).toMatchObject([{ id: 'a', balance: 30n, version: 2 }]);
    expect(t.external).toEqual({ ...external, balance: -30n, version: 1 });
    expect(t.transaction).toMatchObject({
      id: 'txn_1',
      type: 'DEPOSIT',
      debitAccountId: 'external:EUR',
      creditAccountId: 'a',
      createdAt: now,
    });
    expect(t.transaction.entries.map((e) => [e.direction, e.balanceAfter, e.sequence])).toEqual([
      ['DEBIT', -30n, 1],
      ['CREDIT', 30n, 2],
    ]);
    expect(t.events).toEqual([
      { type: 'FundsDeposited', account: t.accounts[0], transaction: t.transaction },
    ]);
  });

  it('withdraw debits within the overdraft into the external account', () => {
    const t = withdraw(book(account('a', 50n)), { ...args(20n), accountId: 'a' }, now);
    expect(t.accounts).toMatchObject([{ balance: 30n }]);
    expect(t.external).toMatchObject({ balance: 20n });
    expect(t.events.map((e) => e.type)).toEqual(['FundsWithdrawn']);
    expect(
      reasonOf(() => withdraw(book(account('a', 5n)), { ...args(6n), accountId: 'a' }, now)),
    ).toBe('INSUFFICIENT_FUNDS');
  });

  it('transfer moves between two accounts and leaves the external account alone', () => {
    const t = transfer(
      book(account('a', 50n), account('b')),
      { ...args(20n), fromAccountId: 'a', toAccountId: 'b' },
      now,
    );
    expect(t.accounts.map((a) => [a.id, a.balance])).toEqual([
      ['a', 30n],
      ['b', 20n],
    ]);
    expect(t.external).toBeUndefined();
    expect(t.events).toMatchObject([
      { type: 'TransferCompleted', from: { id: 'a' }, to: { id: 'b' } },
    ]);
  });

  it('checks both accounts exist before any rule, then the rules in order', () => {
    const frozen = freeze(account('a', 50n), now);
    const move = (b: ReturnType<typeof book>, units = 1n, currency = 'EUR') =>
      reasonOf(() =>
        transfer(b, { ...args(units, currency), fromAccountId: 'a', toAccountId: 'b' }, now),
      );
    expect(move(book(frozen))).toBe('NOT_FOUND');
    expect(move(book(frozen, account('b')))).toBe('ACCOUNT_FROZEN');
    expect(move(book(account('a', 50n), account('b')), 1n, 'USD')).toBe('CURRENCY_MISMATCH');
    expect(move(book(account('a', 50n), account('b')), 51n)).toBe('INSUFFICIENT_FUNDS');
  });
});
