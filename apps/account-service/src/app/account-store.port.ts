import type { Account, AccountStatus, ExternalAccount } from '../domain/account';
import type { AccountEvent } from '../domain/account-events';
import type { LedgerEntry, Transaction } from '../domain/ledger';

/** The remembered outcome of a money RPC, keyed by its idempotency key. */
export interface IdempotencyRecord {
  key: string;
  /** Hash of the canonical request the key was first used with. */
  requestHash: string;
  transaction: Transaction;
}

/** Reads and writes inside one database transaction (all-or-nothing, with its events). */
export interface AccountUnitOfWork {
  getAccount(id: string): Promise<Account | undefined>;
  /** The per-currency external account (created on first use, balance 0). */
  getExternalAccount(currency: string): Promise<ExternalAccount>;
  getIdempotencyRecord(key: string): Promise<IdempotencyRecord | undefined>;
  insertAccount(account: Account): Promise<void>;
  /** Writes `account`, whose version is one more than the stored one. */
  updateAccount(account: Account): Promise<void>;
  updateExternalAccount(account: ExternalAccount): Promise<void>;
  insertLedgerEntries(entries: readonly LedgerEntry[]): Promise<void>;
  /** Throws IdempotencyKeyTaken when another transaction recorded the key first. */
  insertIdempotencyRecord(record: IdempotencyRecord): Promise<void>;
  /** Appends events to the outbox; they are published only if the transaction commits. */
  publish(events: AccountEvent[]): Promise<void>;
}

export interface AccountFilter {
  status?: AccountStatus;
  /** Exact match, case-insensitive. */
  email?: string;
}

export interface AccountStore {
  /**
   * Runs `work` in one transaction, rerunning it on write conflicts, so `work` must be safe to
   * rerun. `lockKeys` name what it will write (account ids, idempotency keys): calls with a
   * common key are queued in this process instead of conflicting in the database.
   */
  transact<T>(lockKeys: string[], work: (uow: AccountUnitOfWork) => Promise<T>): Promise<T>;
  getAccount(id: string): Promise<Account | undefined>;
  getIdempotencyRecord(key: string): Promise<IdempotencyRecord | undefined>;
  /** Newest first, ids strictly below `beforeId` when given. */
  listAccounts(
    filter: AccountFilter,
    beforeId: string | undefined,
    limit: number,
  ): Promise<Account[]>;
  /** Newest first, sequences strictly below `beforeSequence` when given. */
  listLedgerEntries(
    accountId: string,
    beforeSequence: number | undefined,
    limit: number,
  ): Promise<LedgerEntry[]>;
}

/** Another transaction recorded this idempotency key after ours began. */
export class IdempotencyKeyTaken extends Error {
  constructor(readonly key: string) {
    super(`idempotency key already recorded: ${key}`);
    this.name = 'IdempotencyKeyTaken';
  }
}
