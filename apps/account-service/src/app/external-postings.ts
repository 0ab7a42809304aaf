import type { Logger } from '@trellis/platform/logging';
import { DomainError } from '@trellis/platform/errors';
import { type Account, assertCanMove, credit, debit, postExternal } from '../domain/account';
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

/** A validated Deposit or Withdraw, waiting for its batch. */
export interface ExternalPosting {
  kind: 'DEPOSIT' | 'WITHDRAWAL';
  accountId: string;
  amount: Money;
  idempotencyKey: string;
  reference: string;
  requestHash: string;
}

interface Pending extends ExternalPosting {
  resolve(result: MovementResult): void;
  reject(err: unknown): void;
}

/** What one posting came to inside a batch attempt (settled only after the commit). */
type Outcome =
  | { applied: Transaction }
  | { sameAs: Transaction }
  | { replayOf: IdempotencyRecord }
  | { error: DomainError };

const MAX_BATCH = 128;

/**
 * Deposits and withdrawals all write their currency's external account (`external:<CUR>`, a real
 * account with an exact running balance), so one at a time they would serialize on it. Postings
 * of a currency are instead queued and applied in batches: one transaction per batch records the
 * keys, balances, ledger entries and events of every posting in it, in queue order. A posting
 * that breaks a rule is left out of the batch (and fails alone); a key already used gives the
 * original result (or IDEMPOTENCY_KEY_REUSED), as in runMoneyMovement.
 */
export class ExternalPostings {
  private readonly queues = new Map<string, Pending[]>();

  constructor(private readonly deps: { store: AccountStore; logger: Logger }) {}

  submit(posting: ExternalPosting): Promise<MovementResult> {
    return new Promise((resolve, reject) => {
      const currency = posting.amount.currency;
      const queue = this.queues.get(currency);
      if (queue) {
        queue.push({ ...posting, resolve, reject });
        return;
      }
      this.queues.set(currency, [{ ...posting, resolve, reject }]);
      void this.drain(currency);
    });
  }

  /** One batch after the other while postings of `currency` wait. */
  private async drain(currency: string): Promise<void> {
    const queue = this.queues.get(currency)!;
    while (queue.length > 0) {
      const batch = queue.splice(0, MAX_BATCH);
      await this.runBatch(currency, batch).catch((err: unknown) => {
        for (const p of batch) p.reject(err);
      });
    }
    this.queues.delete(currency);
  }

  private async runBatch(currency: string, batch: Pending[]): Promise<void> {
    let items = batch;
    while (items.length > 0) {
      try {
        const outcomes = await this.apply(currency, items);
        items.forEach((p, i) => this.settle(p, outcomes[i]));
        return;
      } catch (err) {
        if (!(err instanceof IdempotencyKeyTaken)) throw err;
        // Keys another process committed after this attempt began: those postings are replays.
        const taken = new Set<string>();
        for (const p of items) {
          if (!(await this.deps.store.getIdempotencyRecord(p.idempotencyKey))) continue;
          taken.add(p.idempotencyKey);
          replay(this.deps.store, p.idempotencyKey, p.requestHash, err).then(p.resolve, p.reject);
        }
        if (taken.size === 0) throw err;
        items = items.filter((p) => !taken.has(p.idempotencyKey));
      }
    }
  }

  private apply(currency: string, items: Pending[]): Promise<Outcome[]> {
    const accountIds = [...new Set(items.map((p) => p.accountId))];
    const keys = [...new Set(items.map((p) => p.idempotencyKey))];
    const lockKeys = [
      externalAccountId(currency),
      ...accountIds,
      ...keys.map((k) => `idempotency:${k}`),
    ];
    return this.deps.store.transact(lockKeys, async (uow) => {
      const recorded = await uow.getIdempotencyRecords(keys);
      const accounts = await uow.getAccounts(accountIds);
      const externalBefore = await uow.getExternalAccount(currency);
      let external = externalBefore;
      const now = new Date();
      const changed = new Map<string, AccountChange>();
      const claimed = new Map<string, { requestHash: string; transaction: Transaction }>();
      const claims: IdempotencyRecord[] = [];
      const entries = [];
      const events: AccountEvent[] = [];
      const outcomes: Outcome[] = [];

      for (const p of items) {
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
          const account: Account | undefined =
            changed.get(p.accountId)?.account ?? accounts.get(p.accountId);
          if (!account) throw accountNotFound(p.accountId);
          assertCanMove(account, currency);
          const deposit = p.kind === 'DEPOSIT';
          const after = deposit
            ? credit(account, p.amount.units, now)
            : debit(account, p.amount.units, now);
          const externalAfter = postExternal(
            external,
            deposit ? 'DEBIT' : 'CREDIT',
            p.amount.units,
          );
          const customer = {
            accountId: after.id,
            balanceAfter: after.balance,
            sequence: after.version,
          };
          const cash = {
            accountId: externalAfter.id,
            balanceAfter: externalAfter.balance,
            sequence: externalAfter.version,
          };
          const transaction = postTransaction({
            id: newTransactionId(),
            entryIds: [newEntryId(), newEntryId()],
            type: p.kind,
            currency,
            amount: p.amount.units,
            debit: deposit ? cash : customer,
            credit: deposit ? customer : cash,
            reference: p.reference,
            idempotencyKey: p.idempotencyKey,
            now,
          });
          external = externalAfter;
          changed.set(after.id, {
            account: after,
            previousVersion: changed.get(after.id)?.previousVersion ?? account.version,
          });
          claimed.set(p.idempotencyKey, { requestHash: p.requestHash, transaction });
          claims.push({
            key: p.idempotencyKey,
            requestHash: p.requestHash,
            transactionId: transaction.id,
          });
          entries.push(...transaction.entries);
          events.push(
            deposit
              ? { type: 'FundsDeposited', account: after, transaction }
              : { type: 'FundsWithdrawn', account: after, transaction },
          );
          outcomes.push({ applied: transaction });
        } catch (err) {
          // A broken rule fails this posting alone; anything else fails the batch.
          if (!(err instanceof DomainError)) throw err;
          outcomes.push({ error: err });
        }
      }

      if (claims.length > 0) {
        await uow.claimIdempotencyKeys(claims);
        await uow.updateAccounts([...changed.values()]);
        await uow.updateExternalAccount(external, externalBefore.version);
        await uow.insertLedgerEntries(entries);
        await uow.publish(events);
      }
      return outcomes;
    });
  }

  private settle(p: Pending, outcome: Outcome): void {
    if ('applied' in outcome) {
      audit(this.deps.logger, outcome.applied);
      p.resolve({ transaction: outcome.applied, replayed: false });
    } else if ('sameAs' in outcome) {
      p.resolve({ transaction: outcome.sameAs, replayed: true });
    } else if ('error' in outcome) {
      p.reject(outcome.error);
    } else if (outcome.replayOf.requestHash !== p.requestHash) {
      p.reject(idempotencyKeyReused(p.idempotencyKey));
    } else {
      this.deps.store
        .getTransaction(outcome.replayOf.transactionId, p.idempotencyKey)
        .then((transaction) => {
          if (!transaction)
            throw new Error(`transaction ${outcome.replayOf.transactionId} not found`);
          p.resolve({ transaction, replayed: true });
        })
        .catch(p.reject);
    }
  }
}
