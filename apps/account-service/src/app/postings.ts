import type { Logger } from '@trellis/platform/logging';
import { traceHeaders } from '@trellis/platform/telemetry';
import { DomainError, replayable } from '@trellis/platform/errors';
import { type BatchOutcome, GroupCommit, outcomeOf } from '@trellis/platform/batching';
import {
  type Account,
  type ExternalAccount,
  assertCanMove,
  credit,
  debit,
  postExternal,
} from '../domain/account';
import type { AccountEvent } from '../domain/account-events';
import { accountNotFound, idempotencyKeyReused } from '../domain/errors';
import { externalAccountId, newEntryId, newTransactionId } from '../domain/ids';
import { postTransaction, type Transaction } from '../domain/ledger';
import type { Money } from '../domain/money';
import {
  type AccountChange,
  type AccountStore,
  type IdempotencyRecord,
  IdempotencyKeyTaken,
} from './account-store.port';
import { audit, type MovementResult, replay } from './money-movement';

/**
 * A validated money movement, waiting for its batch: a Transfer debits and credits two customer
 * accounts; a Deposit credits one from the external (cash) account of its currency, a Withdraw
 * debits one into it.
 */
export type Posting = {
  amount: Money;
  idempotencyKey: string;
  reference: string;
  requestHash: string;
} & (
  | { type: 'DEPOSIT' | 'WITHDRAWAL'; accountId: string }
  | { type: 'TRANSFER'; fromAccountId: string; toAccountId: string }
);

interface Pending {
  posting: Posting;
  /** The submitting request's trace context, for its event. */
  trace: Record<string, string>;
}

/** What one posting came to inside a batch attempt (settled only after the commit). */
type Outcome =
  | { applied: Transaction }
  | { sameAs: Transaction }
  | { replayOf: IdempotencyRecord }
  | { error: DomainError };

const MAX_BATCH = 128;

/**
 * Group commit for money movements. Postings of a currency are queued and applied in batches:
 * one transaction per batch records the keys, balances (each account written once, with its final
 * state, guarded by the version it was read at), ledger entries and events of every posting in
 * it, in queue order, so each posting sees the balances the ones before it left. A posting that
 * breaks a rule is left out of the batch (and fails alone); a key already used gives the original
 * result (or IDEMPOTENCY_KEY_REUSED). The queueing is platform GroupCommit's: the postings of one
 * event-loop turn form a batch, and what queues while it commits forms the next one. Deposits and withdrawals batch for a
 * reason of their own: they all write their currency's external account (`external:<CUR>`, a real
 * account with an exact running balance), so one at a time they would serialize on it.
 */
export class Postings {
  private readonly batchers = new Map<string, GroupCommit<Pending, MovementResult>>();

  constructor(private readonly deps: { store: AccountStore; logger: Logger }) {}

  submit(posting: Posting): Promise<MovementResult> {
    const currency = posting.amount.currency;
    let batcher = this.batchers.get(currency);
    if (!batcher) {
      batcher = new GroupCommit((batch) => this.runBatch(currency, batch), {
        maxBatch: MAX_BATCH,
      });
      this.batchers.set(currency, batcher);
    }
    return batcher.submit({ posting, trace: traceHeaders() });
  }

  private async runBatch(
    currency: string,
    batch: Pending[],
  ): Promise<Array<BatchOutcome<MovementResult>>> {
    const results = new Map<Pending, Promise<MovementResult>>();
    let items = batch;
    while (items.length > 0) {
      try {
        const outcomes = await this.apply(currency, items);
        items.forEach((p, i) => results.set(p, this.settle(p.posting, outcomes[i])));
        break;
      } catch (err) {
        if (!(err instanceof IdempotencyKeyTaken)) throw err;
        // Keys another process committed after this attempt began: those postings are replays.
        const taken = new Set<string>();
        for (const p of items) {
          const { idempotencyKey: key, requestHash } = p.posting;
          if (!(await this.deps.store.getIdempotencyRecord(key))) continue;
          taken.add(key);
          results.set(p, replay(this.deps.store, key, requestHash, err));
        }
        if (taken.size === 0) throw err;
        items = items.filter((p) => !taken.has(p.posting.idempotencyKey));
      }
    }
    return Promise.all(batch.map((p) => outcomeOf(results.get(p)!)));
  }

  private apply(currency: string, items: Pending[]): Promise<Outcome[]> {
    const postings = items.map((item) => item.posting);
    const accountIds = [...new Set(postings.flatMap(customerAccounts))];
    const keys = [...new Set(postings.map((p) => p.idempotencyKey))];
    const external = postings.some((p) => p.type !== 'TRANSFER');
    const lockKeys = [
      ...(external ? [externalAccountId(currency)] : []),
      ...accountIds,
      ...keys.map((k) => `idempotency:${k}`),
    ];
    return this.deps.store.transact(lockKeys, async (uow) => {
      const recorded = await uow.getIdempotencyRecords(keys);
      const accounts = await uow.getAccounts(accountIds);
      const externalBefore = external ? await uow.getExternalAccount(currency) : undefined;
      const batch = new BatchState(accounts, externalBefore, new Date());
      const claimed = new Map<string, { requestHash: string; transaction: Transaction }>();
      const claims: IdempotencyRecord[] = [];
      const entries = [];
      const events: AccountEvent[] = [];
      const traceContexts: Array<Record<string, string>> = [];
      const outcomes: Outcome[] = [];

      for (const { posting: p, trace } of items) {
        const earlier = recorded.get(p.idempotencyKey);
        if (earlier) {
          outcomes.push({ replayOf: earlier });
          continue;
        }
        const sibling = claimed.get(p.idempotencyKey);
        if (sibling) {
          outcomes.push(
            sibling.requestHash === p.requestHash
              ? { sameAs: sibling.transaction }
              : { error: idempotencyKeyReused(p.idempotencyKey) },
          );
          continue;
        }
        try {
          const { transaction, event } = batch.post(p);
          claimed.set(p.idempotencyKey, { requestHash: p.requestHash, transaction });
          claims.push({
            key: p.idempotencyKey,
            requestHash: p.requestHash,
            transactionId: transaction.id,
          });
          entries.push(...transaction.entries);
          events.push(event);
          traceContexts.push(trace);
          outcomes.push({ applied: transaction });
        } catch (err) {
          // A broken rule fails this posting alone; anything else fails the batch.
          if (!(err instanceof DomainError)) throw err;
          outcomes.push({ error: err });
        }
      }

      if (claims.length > 0) {
        await uow.claimIdempotencyKeys(claims);
        await uow.updateAccounts([...batch.changed.values()]);
        if (externalBefore && batch.external !== externalBefore) {
          await uow.updateExternalAccount(batch.external!, externalBefore.version);
        }
        await uow.insertLedgerEntries(entries);
        await uow.publish(events, traceContexts);
      }
      return outcomes;
    });
  }

  private async settle(p: Posting, outcome: Outcome): Promise<MovementResult> {
    if ('applied' in outcome) {
      audit(this.deps.logger, outcome.applied);
      return { transaction: outcome.applied, replayed: false };
    }
    if ('sameAs' in outcome) return { transaction: outcome.sameAs, replayed: true };
    if ('error' in outcome) throw outcome.error;
    const { transactionId } = replayable(
      outcome.replayOf,
      p.requestHash,
      'ACCOUNT',
      p.idempotencyKey,
    );
    const transaction = await this.deps.store.getTransaction(transactionId, p.idempotencyKey);
    if (!transaction) throw new Error(`transaction ${transactionId} not found`);
    return { transaction, replayed: true };
  }
}

function customerAccounts(p: Posting): string[] {
  return p.type === 'TRANSFER' ? [p.fromAccountId, p.toAccountId] : [p.accountId];
}

/** The accounts of a batch as the postings applied so far left them. */
class BatchState {
  /** Every customer account written, with the version it was read at. */
  readonly changed = new Map<string, AccountChange>();

  constructor(
    private readonly read: Map<string, Account>,
    public external: ExternalAccount | undefined,
    private readonly now: Date,
  ) {}

  /** Applies `p` to the batch, or throws the DomainError of the rule it breaks (changing nothing). */
  post(p: Posting): { transaction: Transaction; event: AccountEvent } {
    const { currency, units } = p.amount;
    const [debitId, creditId] =
      p.type === 'TRANSFER'
        ? [p.fromAccountId, p.toAccountId]
        : p.type === 'WITHDRAWAL'
          ? [p.accountId, undefined]
          : [undefined, p.accountId];
    const from = debitId === undefined ? undefined : this.current(debitId);
    const to = creditId === undefined ? undefined : this.current(creditId);
    if (from) assertCanMove(from, currency);
    if (to) assertCanMove(to, currency);
    const debited = from && debit(from, units, this.now);
    const credited = to && credit(to, units, this.now);
    const external =
      from && to ? this.external : postExternal(this.external!, from ? 'CREDIT' : 'DEBIT', units);
    const side = (a: Account | ExternalAccount) => ({
      accountId: a.id,
      balanceAfter: a.balance,
      sequence: a.version,
    });
    const transaction = postTransaction({
      id: newTransactionId(),
      entryIds: [newEntryId(), newEntryId()],
      type: p.type,
      currency,
      amount: units,
      debit: side(debited ?? external!),
      credit: side(credited ?? external!),
      reference: p.reference,
      idempotencyKey: p.idempotencyKey,
      now: this.now,
    });

    // Nothing above changed the batch: a posting that threw is left out whole.
    for (const [before, after] of [
      [from, debited],
      [to, credited],
    ]) {
      if (!before || !after) continue;
      const previousVersion = this.changed.get(after.id)?.previousVersion ?? before.version;
      this.changed.set(after.id, { account: after, previousVersion });
    }
    this.external = external;
    const event: AccountEvent =
      p.type === 'TRANSFER'
        ? { type: 'TransferCompleted', from: debited!, to: credited!, transaction }
        : p.type === 'DEPOSIT'
          ? { type: 'FundsDeposited', account: credited!, transaction }
          : { type: 'FundsWithdrawn', account: debited!, transaction };
    return { transaction, event };
  }

  private current(id: string): Account {
    const account = this.changed.get(id)?.account ?? this.read.get(id);
    if (!account) throw accountNotFound(id);
    return account;
  }
}
