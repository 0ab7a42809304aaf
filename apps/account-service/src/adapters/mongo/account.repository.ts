import type { ClientSession, Collection, Db, MongoClient } from 'mongodb';
import { Counter, type Registry } from 'prom-client';
import { type BatchOutcome, GroupCommit, outcomeOf } from '@trellis/platform/batching';
import { replayable } from '@trellis/platform/errors';
import type { OutboxRelay } from '@trellis/platform/messaging';
import { isDuplicateKeyError, type Outbox, withTransaction } from '@trellis/platform/mongo';
import { traceHeaders } from '@trellis/platform/telemetry';
import type {
  AccountFilter,
  AccountRepository,
  MovementResult,
  MovementScope,
} from '../../app/ports/account.repository.port';
import type { Account, AccountTransition, ExternalAccount } from '../../domain/account';
import type { AccountEvent } from '../../domain/account-events';
import { accountNotFound } from '../../domain/errors';
import { externalAccountId } from '../../domain/ids';
import type { LedgerEntry, Transaction } from '../../domain/ledger';
import type { Book, PostingTransition } from '../../domain/postings';
import { toAccountEventMessage } from './account-events.outbox';
import { CoalescingLoader } from './coalescing-loader';
import {
  type AccountDocument,
  type ExternalAccountDocument,
  type IdempotencyDocument,
  type LedgerEntryDocument,
  accountFromDocument,
  accountToDocument,
  entryFromDocument,
  entryToDocument,
  externalFromDocument,
  transactionFromEntries,
} from './documents';
import { KeyedLocks } from './keyed-locks';
import {
  applyBatch,
  type BatchWrites,
  type IdempotencyRecord,
  type Outcome,
  type QueuedMovement,
  type Versioned,
} from './posting-batch';

export interface MongoAccountRepositorySettings {
  client: MongoClient;
  db: Db;
  outbox: Outbox;
  /** Woken after a commit that wrote events. */
  relay: Pick<OutboxRelay, 'notify'>;
  /** How long an idempotency key is remembered. */
  idempotencyTtlSeconds: number;
  metrics?: Registry;
}

/** A transaction's work found no external account for a currency yet. */
class ExternalAccountMissing extends Error {
  constructor(readonly currency: string) {
    super(`no external account for ${currency} yet`);
  }
}

/** An idempotency key (`key`, when known) is already recorded by a committed transaction. */
class IdempotencyKeyTaken extends Error {
  constructor(readonly key?: string) {
    super(`idempotency key already recorded: ${key ?? '(one of the batch)'}`);
    this.name = 'IdempotencyKeyTaken';
  }
}

const MAX_BATCH = 128;

/** One transaction's session, and the outbox append that commits with it. */
interface Tx {
  session: ClientSession;
  /**
   * Appends events to the outbox, published only if the transaction commits; `traceContexts[i]`
   * is the trace context of the request behind `events[i]` (a batch writes many requests' events).
   */
  publish(events: AccountEvent[], traceContexts?: Array<Record<string, string>>): Promise<void>;
}

/**
 * Accounts on MongoDB: one multi-document transaction per change covering the accounts (with
 * their version), ledger entries, idempotency records and the outbox events.
 *
 * Money movements are group-committed: those of a currency queue (platform GroupCommit: the
 * movements of one event-loop turn form a batch, and what queues while it commits forms the next)
 * and each batch is one transaction that writes the keys, balances (each account once, at its
 * final state, guarded by the version it was read at), ledger entries and events of all its
 * movements, applied in queue order (see applyBatch). Deposits and withdrawals share a queue per
 * currency for a reason of their own: they all write the currency's external account
 * (`external:<CUR>`, a real account with an exact running balance), so one at a time they would
 * serialize on it. Transfers have their own queues, whose batches never touch it and run beside.
 */
export class MongoAccountRepository implements AccountRepository {
  readonly accounts: Collection<AccountDocument>;
  readonly externalAccounts: Collection<ExternalAccountDocument>;
  readonly ledger: Collection<LedgerEntryDocument>;
  readonly idempotency: Collection<IdempotencyDocument>;
  private readonly locks = new KeyedLocks();
  private readonly accountReads = new CoalescingLoader(async (ids) => {
    const docs = await this.accounts.find({ _id: { $in: ids } }).toArray();
    return new Map(docs.map((doc) => [doc._id, accountFromDocument(doc)]));
  });
  private readonly batchers = new Map<string, GroupCommit<QueuedMovement, MovementResult>>();
  private readonly retries?: Counter;

  constructor(private readonly settings: MongoAccountRepositorySettings) {
    const options = { useBigInt64: true };
    this.accounts = settings.db.collection<AccountDocument>('accounts', options);
    this.externalAccounts = settings.db.collection<ExternalAccountDocument>(
      'external_accounts',
      options,
    );
    this.ledger = settings.db.collection<LedgerEntryDocument>('ledger_entries', options);
    this.idempotency = settings.db.collection<IdempotencyDocument>('idempotency_keys', options);
    if (settings.metrics) {
      this.retries = new Counter({
        name: 'account_transaction_retries_total',
        help: 'Transactions rerun after a write conflict with a concurrent transaction',
        registers: [settings.metrics],
      });
    }
  }

  async ensureIndexes(): Promise<void> {
    await this.accounts.createIndexes([
      { key: { email_lower: 1, _id: -1 }, name: 'by_email' },
      { key: { status: 1, _id: -1 }, name: 'by_status' },
    ]);
    await this.ledger.createIndexes([
      { key: { account_id: 1, sequence: -1 }, name: 'statement', unique: true },
      { key: { transaction_id: 1 }, name: 'by_transaction' },
    ]);
    await this.idempotency.createIndexes([
      { key: { expires_at: 1 }, name: 'expires_ttl', expireAfterSeconds: 0 },
    ]);
  }

  create(account: Account, events: AccountEvent[]): Promise<Account> {
    return this.run([account.id], async ({ session, publish }) => {
      await this.accounts.insertOne(accountToDocument(account), { session });
      await publish(events);
      return account;
    });
  }

  findById(id: string): Promise<Account | undefined> {
    return this.accountReads.load(id);
  }

  async list(
    filter: AccountFilter,
    beforeId: string | undefined,
    limit: number,
  ): Promise<Account[]> {
    const query: Record<string, unknown> = {};
    if (filter.status) query.status = filter.status;
    if (filter.email !== undefined) query.email_lower = filter.email;
    if (beforeId !== undefined) query._id = { $lt: beforeId };
    const docs = await this.accounts.find(query).sort({ _id: -1 }).limit(limit).toArray();
    return docs.map(accountFromDocument);
  }

  async listLedgerEntries(
    accountId: string,
    beforeSequence: number | undefined,
    limit: number,
  ): Promise<LedgerEntry[]> {
    const query: Record<string, unknown> = { account_id: accountId };
    if (beforeSequence !== undefined) query.sequence = { $lt: beforeSequence };
    const docs = await this.ledger.find(query).sort({ sequence: -1 }).limit(limit).toArray();
    return docs.map(entryFromDocument);
  }

  update(id: string, change: (account: Account) => AccountTransition): Promise<Account> {
    return this.run([id], async ({ session, publish }) => {
      const doc = await this.accounts.findOne({ _id: id }, { session });
      if (!doc) throw accountNotFound(id);
      const account = accountFromDocument(doc);
      const t = change(account);
      await this.updateAccounts(session, [{ state: t.account, previousVersion: account.version }]);
      await publish(t.events);
      return t.account;
    });
  }

  transact(
    scope: MovementScope,
    change: (book: Book, now: Date) => PostingTransition,
  ): Promise<MovementResult> {
    const { currency, external } = scope;
    const queue = external ? externalAccountId(currency) : `transfer:${currency}`;
    let batcher = this.batchers.get(queue);
    if (!batcher) {
      batcher = new GroupCommit((batch) => this.commitBatch(currency, external, batch), {
        maxBatch: MAX_BATCH,
      });
      this.batchers.set(queue, batcher);
    }
    // Captured here, in the request's context: the batch commits in no request's context.
    return batcher.submit({ scope, change, trace: traceHeaders() });
  }

  /** One batch of movements; a key committed elsewhere meanwhile turns its movement into a replay. */
  private async commitBatch(
    currency: string,
    external: boolean,
    batch: QueuedMovement[],
  ): Promise<Array<BatchOutcome<MovementResult>>> {
    const results = new Map<QueuedMovement, Promise<MovementResult>>();
    let items = batch;
    while (items.length > 0) {
      try {
        const outcomes = await this.writeBatch(currency, external, items);
        items.forEach((item, i) => results.set(item, this.settle(item.scope, outcomes[i])));
        break;
      } catch (err) {
        if (!(err instanceof IdempotencyKeyTaken)) throw err;
        // Keys another process committed after this attempt began: those movements are replays.
        const taken = new Set<string>();
        for (const item of items) {
          const { idempotencyKey: key, requestHash } = item.scope;
          if (!(await this.findIdempotencyRecord(key))) continue;
          taken.add(key);
          results.set(item, this.replay(key, requestHash, err));
        }
        if (taken.size === 0) throw err;
        items = items.filter((item) => !taken.has(item.scope.idempotencyKey));
      }
    }
    return Promise.all(batch.map((item) => outcomeOf(results.get(item)!)));
  }

  private writeBatch(
    currency: string,
    external: boolean,
    items: QueuedMovement[],
  ): Promise<Outcome[]> {
    const accountIds = [...new Set(items.flatMap((item) => item.scope.accountIds))];
    const keys = [...new Set(items.map((item) => item.scope.idempotencyKey))];
    const lockKeys = [
      ...(external ? [externalAccountId(currency)] : []),
      ...accountIds,
      ...keys.map((k) => `idempotency:${k}`),
    ];
    return this.run(lockKeys, async (tx) => {
      const { session } = tx;
      const recordDocs = await this.idempotency.find({ _id: { $in: keys } }, { session }).toArray();
      const accountDocs = await this.accounts
        .find({ _id: { $in: accountIds } }, { session })
        .toArray();
      const writes = applyBatch(
        items,
        {
          recorded: new Map(recordDocs.map((doc) => [doc._id, recordFromDocument(doc)])),
          accounts: new Map(accountDocs.map((doc) => [doc._id, accountFromDocument(doc)])),
          external: external ? await this.readExternalAccount(session, currency) : undefined,
        },
        new Date(),
      );
      if (writes.claims.length > 0) await this.writeBatchResults(tx, writes);
      return writes.outcomes;
    });
  }

  private async writeBatchResults({ session, publish }: Tx, writes: BatchWrites): Promise<void> {
    await this.claimIdempotencyKeys(session, writes.claims);
    await this.updateAccounts(session, writes.accounts);
    if (writes.external) {
      const { state, previousVersion } = writes.external;
      const result = await this.externalAccounts.updateOne(
        { _id: state.id, version: previousVersion },
        { $set: { balance: state.balance, version: state.version } },
        { session },
      );
      if (result.matchedCount !== 1) throw new Error(`${state.id} changed concurrently`);
    }
    await this.ledger.insertMany(writes.entries.map(entryToDocument), { session });
    await publish(writes.events, writes.traceContexts);
  }

  private async settle(scope: MovementScope, outcome: Outcome): Promise<MovementResult> {
    if ('applied' in outcome) return { transaction: outcome.applied, replayed: false };
    if ('sameAs' in outcome) return { transaction: outcome.sameAs, replayed: true };
    if ('error' in outcome) throw outcome.error;
    const { idempotencyKey: key, requestHash } = scope;
    const { transactionId } = replayable(outcome.replayOf, requestHash, 'ACCOUNT', key);
    const transaction = await this.findTransaction(transactionId, key);
    if (!transaction) throw new Error(`transaction ${transactionId} not found`);
    return { transaction, replayed: true };
  }

  /** The result of the request that first used `key`, if this is the same request. */
  private async replay(key: string, hash: string, cause: Error): Promise<MovementResult> {
    const record = await this.findIdempotencyRecord(key);
    if (!record) throw cause;
    const { transactionId } = replayable(record, hash, 'ACCOUNT', key);
    const transaction = await this.findTransaction(transactionId, key);
    if (!transaction) throw cause;
    return { transaction, replayed: true };
  }

  /**
   * Runs `work` in one transaction, rerunning it on write conflicts. `lockKeys` name what it will
   * write (account ids, idempotency keys): calls with a common key queue in this process instead
   * of conflicting in the database.
   */
  private async run<T>(lockKeys: string[], work: (tx: Tx) => Promise<T>): Promise<T> {
    const release = await this.locks.acquire(lockKeys);
    try {
      for (;;) {
        let attempts = 0;
        let wroteEvents = false;
        try {
          const result = await withTransaction(this.settings.client, async (session) => {
            if (attempts++ > 0) this.retries?.inc();
            return work({
              session,
              publish: async (events, traceContexts) => {
                if (events.length === 0) return;
                await this.settings.outbox.append(
                  session,
                  events.map((event, i) => ({
                    ...toAccountEventMessage(event),
                    // By default the active trace context (the outbox's).
                    headers: traceContexts?.[i],
                  })),
                );
                wroteEvents = true;
              },
            });
          });
          if (wroteEvents) this.settings.relay.notify();
          return result;
        } catch (err) {
          if (!(err instanceof ExternalAccountMissing)) throw err;
          await this.createExternalAccount(err.currency);
        }
      }
    } finally {
      release();
    }
  }

  /** Outside any transaction, so concurrent first uses of a currency cannot fail each other. */
  private async createExternalAccount(currency: string): Promise<void> {
    try {
      await this.externalAccounts.updateOne(
        { _id: externalAccountId(currency) },
        { $setOnInsert: { currency_code: currency, balance: 0n, version: 0 } },
        { upsert: true },
      );
    } catch (err) {
      if (!isDuplicateKeyError(err)) throw err;
    }
  }

  /** The per-currency external account; created (outside the transaction) on first use. */
  private async readExternalAccount(
    session: ClientSession,
    currency: string,
  ): Promise<ExternalAccount> {
    const doc = await this.externalAccounts.findOne(
      { _id: externalAccountId(currency) },
      { session },
    );
    if (!doc) throw new ExternalAccountMissing(currency);
    return externalFromDocument(doc);
  }

  /**
   * Records keys in the transaction. Throws IdempotencyKeyTaken when one is already recorded (a
   * concurrent holder that has not committed yet shows up as a write conflict instead, which
   * reruns the transaction until it has).
   */
  private async claimIdempotencyKeys(
    session: ClientSession,
    records: IdempotencyRecord[],
  ): Promise<void> {
    const now = new Date();
    const expiresAt = new Date(now.getTime() + this.settings.idempotencyTtlSeconds * 1000);
    try {
      await this.idempotency.insertMany(
        records.map((record) => ({
          _id: record.key,
          request_hash: record.requestHash,
          transaction_id: record.transactionId,
          created_at: now,
          expires_at: expiresAt,
        })),
        { session },
      );
    } catch (err) {
      if (!isDuplicateKeyError(err)) throw err;
      const key = (err as { keyValue?: { _id?: unknown } }).keyValue?._id;
      throw new IdempotencyKeyTaken(typeof key === 'string' ? key : undefined);
    }
  }

  /** Writes each changed account (guarded by the version it was read at) in one round trip. */
  private async updateAccounts(
    session: ClientSession,
    changes: Array<Versioned<Account>>,
  ): Promise<void> {
    const result = await this.accounts.bulkWrite(
      changes.map(({ state: account, previousVersion }) => ({
        updateOne: {
          filter: { _id: account.id, version: previousVersion },
          // Only what a movement or a status change can alter.
          update: {
            $set: {
              balance: account.balance,
              status: account.status,
              version: account.version,
              updated_at: account.updatedAt,
              closed_at: account.closedAt ?? null,
            },
          },
        },
      })),
      { session, ordered: true },
    );
    // Snapshot isolation makes a concurrent change a write conflict first; this is a guard.
    if (result.matchedCount !== changes.length) {
      throw new Error('an account changed concurrently');
    }
  }

  private async findIdempotencyRecord(key: string): Promise<IdempotencyRecord | undefined> {
    const doc = await this.idempotency.findOne({ _id: key });
    return doc ? recordFromDocument(doc) : undefined;
  }

  /** A committed transaction (made under `idempotencyKey`), rebuilt from its ledger entries. */
  private async findTransaction(
    id: string,
    idempotencyKey: string,
  ): Promise<Transaction | undefined> {
    const docs = await this.ledger.find({ transaction_id: id }).toArray();
    return transactionFromEntries(docs.map(entryFromDocument), idempotencyKey);
  }
}

function recordFromDocument(doc: IdempotencyDocument): IdempotencyRecord {
  return { key: doc._id, requestHash: doc.request_hash, transactionId: doc.transaction_id };
}
