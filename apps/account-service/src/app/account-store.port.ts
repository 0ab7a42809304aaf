import type { Account, AccountStatus, ExternalAccount } from '../domain/account';
import type { AccountEvent } from '../domain/account-events';
import type { LedgerEntry, Transaction } from '../domain/ledger';

/** An idempotency key as first used: by which request, for which transaction. */
export interface IdempotencyRecord {
  key: string;
  /** Hash of the canonical request the key was first used with. */
  requestHash: string;
  transactionId: string;
}

/** An account as it is to be written, and the version it was read at. */
export interface AccountChange {
  account: Account;
  previousVersion: number;
}

/** Reads and writes inside one database transaction (all-or-nothing, with its events). */
export interface AccountUnitOfWork {
  getAccount(id: string): Promise<Account | undefined>;
  /** The accounts of `ids` that exist, in one read. */
  getAccounts(ids: string[]): Promise<Map<string, Account>>;
  /** The per-currency external account (created on first use, balance 0). */
  getExternalAccount(currency: string): Promise<ExternalAccount>;
  /** The recorded keys among `keys`. */
  getIdempotencyRecords(keys: string[]): Promise<Map<string, IdempotencyRecord>>;
  /**
   * Records keys in the transaction. Throws IdempotencyKeyTaken when one is already recorded (a
   * concurrent holder that has not committed yet shows up as a write conflict instead, which
   * reruns the transaction until it has).
   */
  claimIdempotencyKeys(records: IdempotencyRecord[]): Promise<void>;
  insertAccount(account: Account): Promise<void>;
  /** Writes each changed account (guarded by the version it was read at) in one round trip. */
  updateAccounts(changes: AccountChange[]): Promise<void>;
  updateExternalAccount(account: ExternalAccount, previousVersion: number): Promise<void>;
  insertLedgerEntries(entries: readonly LedgerEntry[]): Promise<void>;
  /**
   * Appends events to the outbox; they are published only if the transaction commits.
   * `traceContexts[i]`: the W3C trace context of the request behind `events[i]` (a group commit
   * writes many requests' events); by default the active one.
   */
  publish(events: AccountEvent[], traceContexts?: Array<Record<string, string>>): Promise<void>;
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
  /** A committed transaction (made under `idempotencyKey`), rebuilt from its ledger entries. */
  getTransaction(id: string, idempotencyKey: string): Promise<Transaction | undefined>;
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

/** An idempotency key (`key`, when known) is already recorded by a committed transaction. */
export class IdempotencyKeyTaken extends Error {
  constructor(readonly key?: string) {
    super(`idempotency key already recorded: ${key ?? '(one of the batch)'}`);
    this.name = 'IdempotencyKeyTaken';
  }
}
