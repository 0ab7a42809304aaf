import { ValidationError } from '@trellis/platform/errors';
import { testAccount, testNow } from '../../test/account.fixture';
import type { Transaction } from '../domain/ledger';
import type { AccountRepository, MovementResult } from './ports/account.repository.port';
import { TransferFunds } from './transfer-funds.command';

const open = (id: string) => testAccount(id, 100n);
const A = 'acc_01HZ0000000000000000000000';
const B = 'acc_01HZ0000000000000000000001';

/** A repository whose transact applies the change once to two fresh accounts. */
function fakeAccounts(replayed: boolean) {
  const calls: Array<Parameters<AccountRepository['transact']>[0]> = [];
  const accounts = {
    transact: async (scope, change): Promise<MovementResult> => {
      calls.push(scope);
      const t = change({ accounts: new Map([A, B].map((id) => [id, open(id)])) }, testNow);
      return { transaction: t.transaction, replayed };
    },
  } as Pick<AccountRepository, 'transact'> as AccountRepository;
  return { accounts, calls };
}

describe('TransferFunds', () => {
  const cmd = {
    fromAccountId: A,
    toAccountId: B,
    amount: { currency: 'EUR', units: 30n },
    idempotencyKey: 'k',
    reference: 'lunch',
  };

  it('hands the repository its scope and the pure transfer, and audits an applied one', async () => {
    const { accounts, calls } = fakeAccounts(false);
    const audited: Transaction[] = [];
    const uc = new TransferFunds({
      accounts,
      audit: { moneyMoved: (t) => audited.push(t) },
      maxAmountUnits: 1000n,
    });
    const { transaction } = await uc.execute(cmd);
    expect(calls).toMatchObject([
      { accountIds: [A, B], currency: 'EUR', external: false, idempotencyKey: 'k' },
    ]);
    expect(transaction.entries.map((e) => e.balanceAfter)).toEqual([70n, 130n]);
    expect(audited).toEqual([transaction]);
  });

  it('does not audit a replay, and refuses bad input before the repository', async () => {
    const { accounts, calls } = fakeAccounts(true);
    const audited: Transaction[] = [];
    const uc = new TransferFunds({
      accounts,
      audit: { moneyMoved: (t) => audited.push(t) },
      maxAmountUnits: 1000n,
    });
    await uc.execute(cmd);
    expect(audited).toEqual([]);
    await expect(uc.execute({ ...cmd, toAccountId: A })).rejects.toBeInstanceOf(ValidationError);
    expect(calls).toHaveLength(1);
  });
});
