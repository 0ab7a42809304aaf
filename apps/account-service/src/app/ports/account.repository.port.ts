import type { Account, AccountStatus, AccountTransition } from '../../domain/account';
import type { AccountEvent } from '../../domain/account-events';
import type { LedgerEntry, Transaction } from '../../domain/ledger';
import type { Book, PostingTransition } from '../../domain/postings';

export interface AccountFilter {
  status?: AccountStatus;
  /** Exact match, case-insensitive. */
  email?: string;
}

/** What a money movement touches and the request it answers (for its idempotency record). */
export interface MovementScope {
  /** The customer accounts it debits or credits. */
  accountIds: string[];
  /** The amount's currency. */
  currency: string;
  /** Deposits and withdrawals post to the external account of `currency` too. */
  external: boolean;
  idempotencyKey: string;
  /** `requestHash` of the request: the same key with another request is refused. */
  requestHash: string;
}

export interface MovementResult {
  transaction: Transaction;
  /** True when the idempotency key had already been used with this request. */
  replayed: boolean;
}

/**
 * Where accounts and their ledger live. Every change is written with its events (outbox) in one
 * transaction; how (transactions, group commit, trace context of the events) is the adapter's.
 */
export interface AccountRepository {
  /** Inserts a new account with its events. */
  create(account: Account, events: AccountEvent[]): Promise<Account>;
  findById(id: string): Promise<Account | undefined>;
  /** Newest first, ids strictly below `beforeId` when given. */
  list(filter: AccountFilter, beforeId: string | undefined, limit: number): Promise<Account[]>;
  /** Newest first, sequences strictly below `beforeSequence` when given. */
  listLedgerEntries(
    accountId: string,
    beforeSequence: number | undefined,
    limit: number,
  ): Promise<LedgerEntry[]>;
  /**
   * Loads the account, applies `change` and saves the new state with its events in one
   * transaction; `change` reruns on a write conflict, so it must be pure. NOT_FOUND when missing.
   */
  update(id: string, change: (account: Account) => AccountTransition): Promise<Account>;
  /**
   * Applies a money movement: `change` gets the accounts of `scope` and the commit time and
   * returns their new states, the transaction and its events, all written in one transaction
   * with the idempotency record of `scope.idempotencyKey`. A key already used with the same
   * request returns the original transaction (`replayed`), with another request
   * IDEMPOTENCY_KEY_REUSED. A DomainError from `change` fails this movement alone. `change` may
   * run more than once, so it must be pure.
   */
  transact(
    scope: MovementScope,
    change: (book: Book, now: Date) => PostingTransition,
  ): Promise<MovementResult>;
}
