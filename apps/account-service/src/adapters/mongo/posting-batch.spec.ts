import { type DomainError } from '@trellis/platform/errors';
import { testAccount, testNow } from '../../../test/account.fixture';
import { transfer } from '../../domain/postings';
import { applyBatch, type QueuedMovement } from './posting-batch';

const now = testNow;
const account = testAccount;
let n = 0;
const move = (from: string, to: string, units: bigint, key = `k${++n}`): QueuedMovement => ({
  scope: {
    accountIds: [from, to],
    currency: 'EUR',
    external: false,
    idempotencyKey: key,
    requestHash: `${from}>${to}:${units}`,
  },
  change: (book, at) =>
    transfer(
      book,
      {
        fromAccountId: from,
        toAccountId: to,
        amount: { currency: 'EUR', units },
        reference: '',
        idempotencyKey: key,
        transactionId: `txn_${key}`,
        entryIds: [`ent_${key}_d`, `ent_${key}_c`],
      },
      at,
    ),
  trace: { traceparent: key },
});

describe('applyBatch', () => {
  it('applies movements in queue order, each on the balances the ones before it left', () => {
    const accounts = new Map([account('a', 10n), account('b', 0n)].map((x) => [x.id, x]));
    const writes = applyBatch(
      [move('a', 'b', 10n, 'k1'), move('b', 'a', 4n, 'k2'), move('a', 'b', 5n, 'k3')],
      { accounts, recorded: new Map() },
      now,
    );
    expect(writes.outcomes.map((o) => ('applied' in o ? o.applied.id : 'error'))).toEqual([
      'txn_k1',
      'txn_k2',
      'error',
    ]);
    // Each account once, at its final state, guarded by the version it was read at.
    expect(writes.accounts.map((w) => [w.state.id, w.state.balance, w.previousVersion])).toEqual([
      ['a', 4n, 1],
      ['b', 6n, 1],
    ]);
    expect(writes.claims.map((c) => c.key)).toEqual(['k1', 'k2']);
    expect(writes.entries).toHaveLength(4);
    expect(writes.traceContexts).toEqual([{ traceparent: 'k1' }, { traceparent: 'k2' }]);
  });

  it('replays recorded keys and resolves a key repeated inside the batch', () => {
    const accounts = new Map([account('a', 10n), account('b', 0n)].map((x) => [x.id, x]));
    const recorded = new Map([['old', { key: 'old', requestHash: 'h', transactionId: 'txn_old' }]]);
    const writes = applyBatch(
      [
        move('a', 'b', 1n, 'old'),
        move('a', 'b', 1n, 'k'),
        move('a', 'b', 1n, 'k'),
        move('a', 'b', 2n, 'k'),
      ],
      { accounts, recorded },
      now,
    );
    const [replay, applied, same, reused] = writes.outcomes;
    expect(replay).toEqual({ replayOf: recorded.get('old') });
    expect(applied).toMatchObject({ applied: { id: 'txn_k' } });
    expect(same).toEqual({ sameAs: (applied as { applied: unknown }).applied });
    expect((reused as { error: DomainError }).error.reason).toBe('IDEMPOTENCY_KEY_REUSED');
    expect(writes.claims).toHaveLength(1);
  });
});
