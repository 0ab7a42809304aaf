import type { ClientSession, Collection, Db, MongoClient } from 'mongodb';
import { Counter, type Registry } from 'prom-client';
import type { OutboxRelay } from '@trellis/platform/messaging';
import { isDuplicateKeyError, type Outbox, withTransaction } from '@trellis/platform/mongo';
import {
  type AccountChange,
  type AccountFilter,
  type AccountStore,
  type AccountUnitOfWork,
  type IdempotencyRecord,
  IdempotencyKeyTaken,
} from '../../app/account-store.port';
import type { Account, ExternalAccount } from '../../domain/account';
import type { AccountEvent } from '../../domain/account-events';
import { externalAccountId } from '../../domain/ids';
import type { LedgerEntry, Transaction } from '../../domain/ledger';
import { toAccountEventMessage } from './account-events.outbox';
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
import { CoalescingLoader } from './coalescing-loader';
import { KeyedLocks } from './keyed-locks';

export interface MongoAccountStoreSettings {
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

/**
 * The account store on MongoDB: one multi-document transaction per unit of work covering the
 * accounts (with their version), ledger entries, the idempotency record and the outbox events.
 */
export class MongoAccountStore implements AccountStore {
  readonly accounts: Collection<AccountDocument>;
  readonly externalAccounts: Collection<ExternalAccountDocument>;
  readonly ledger: Collection<LedgerEntryDocument>;
  readonly idempotency: Collection<IdempotencyDocument>;
  private readonly locks = new KeyedLocks();
  private readonly accountReads = new CoalescingLoader(async (ids) => {
    const docs = await this.accounts.find({ _id: { $in: ids } }).toArray();
    return new Map(docs.map((doc) => [doc._id, accountFromDocument(doc)]));
  });
  private readonly retries?: Counter;

  constructor(private readonly settings: MongoAccountStoreSettings) {
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

  async transact<T>(lockKeys: string[], work: (uow: AccountUnitOfWork) => Promise<T>): Promise<T> {
    const release = await this.locks.acquire(lockKeys);
    try {
      for (;;) {
        let attempts = 0;
        let wroteEvents = false;
        try {
          const result = await withTransaction(this.settings.client, async (session) => {
            if (attempts++ > 0) this.retries?.inc();
            const uow = this.unitOfWork(session, () => (wroteEvents = true));
            return work(uow);
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

  private unitOfWork(session: ClientSession, onEvents: () => void): AccountUnitOfWork {
    const { outbox, idempotencyTtlSeconds } = this.settings;
    return {
      getAccount: async (id) => {
        const doc = await this.accounts.findOne({ _id: id }, { session });
        return doc ? accountFromDocument(doc) : undefined;
      },
      getAccounts: async (ids) => {
        const docs = await this.accounts.find({ _id: { $in: ids } }, { session }).toArray();
        return new Map(docs.map((doc) => [doc._id, accountFromDocument(doc)]));
      },
      getExternalAccount: async (currency) => {
        const doc = await this.externalAccounts.findOne(
          { _id: externalAccountId(currency) },
          { session },
        );
        if (!doc) throw new ExternalAccountMissing(currency);
        return externalFromDocument(doc);
      },
      getIdempotencyRecords: async (keys) => {
        const docs = await this.idempotency.find({ _id: { $in: keys } }, { session }).toArray();
        return new Map(docs.map((doc) => [doc._id, recordFromDocument(doc)]));
      },
      claimIdempotencyKeys: async (records: IdempotencyRecord[]) => {
        const now = new Date();
        const expiresAt = new Date(now.getTime() + idempotencyTtlSeconds * 1000);
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
      },
      insertAccount: async (account: Account) => {
        await this.accounts.insertOne(accountToDocument(account), { session });
      },
      updateAccounts: async (changes: AccountChange[]) => {
        const result = await this.accounts.bulkWrite(
          changes.map(({ account, previousVersion }) => ({
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
      },
      updateExternalAccount: async (account: ExternalAccount, previousVersion: number) => {
        const result = await this.externalAccounts.updateOne(
          { _id: account.id, version: previousVersion },
          { $set: { balance: account.balance, version: account.version } },
          { session },
        );
        if (result.matchedCount !== 1) throw new Error(`${account.id} changed concurrently`);
      },
      insertLedgerEntries: async (entries: readonly LedgerEntry[]) => {
        await this.ledger.insertMany(entries.map(entryToDocument), { session });
      },
      publish: async (events: AccountEvent[], traceContexts) => {
        if (events.length === 0) return;
        await outbox.append(
          session,
          events.map((event, i) => ({
            ...toAccountEventMessage(event),
            headers: traceContexts?.[i],
          })),
        );
        onEvents();
      },
    };
  }

  getAccount(id: string): Promise<Account | undefined> {
    return this.accountReads.load(id);
  }

  async getIdempotencyRecord(key: string): Promise<IdempotencyRecord | undefined> {
    const doc = await this.idempotency.findOne({ _id: key });
    return doc ? recordFromDocument(doc) : undefined;
  }

  async getTransaction(id: string, idempotencyKey: string): Promise<Transaction | undefined> {
    const docs = await this.ledger.find({ transaction_id: id }).toArray();
    return transactionFromEntries(docs.map(entryFromDocument), idempotencyKey);
  }

  async listAccounts(
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
}

function recordFromDocument(doc: IdempotencyDocument): IdempotencyRecord {
  return { key: doc._id, requestHash: doc.request_hash, transactionId: doc.transaction_id };
}
