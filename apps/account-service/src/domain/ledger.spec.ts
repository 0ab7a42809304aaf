import { postTransaction, signedAmount } from './ledger';

describe('postTransaction', () => {
  it('writes one DEBIT and one CREDIT of the same amount, summing to zero', () => {
    const t = postTransaction({
      id: 'txn_1',
      entryIds: ['ent_1', 'ent_2'],
      type: 'TRANSFER',
      currency: 'EUR',
      amount: 250n,
      debit: { accountId: 'acc_a', balanceAfter: -50n, sequence: 4 },
      credit: { accountId: 'acc_b', balanceAfter: 300n, sequence: 9 },
      reference: 'rent',
      idempotencyKey: 'k',
      now: new Date(0),
    });
    const [debit, credit] = t.entries;
    expect(debit).toMatchObject({
      direction: 'DEBIT',
      accountId: 'acc_a',
      counterpartyAccountId: 'acc_b',
      sequence: 4,
    });
    expect(credit).toMatchObject({
      direction: 'CREDIT',
      accountId: 'acc_b',
      counterpartyAccountId: 'acc_a',
      sequence: 9,
    });
    expect(signedAmount(debit) + signedAmount(credit)).toBe(0n);
    expect(t).toMatchObject({ debitAccountId: 'acc_a', creditAccountId: 'acc_b', amount: 250n });
  });

  it('refuses a non-positive amount', () => {
    expect(() =>
      postTransaction({
        id: 't',
        entryIds: ['a', 'b'],
        type: 'DEPOSIT',
        currency: 'EUR',
        amount: 0n,
        debit: { accountId: 'x', balanceAfter: 0n, sequence: 1 },
        credit: { accountId: 'y', balanceAfter: 0n, sequence: 1 },
        reference: '',
        idempotencyKey: 'k',
        now: new Date(0),
      }),
    ).toThrow();
  });
});
