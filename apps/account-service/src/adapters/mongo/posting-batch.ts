import { DomainError } from '@trellis/platform/errors';
import type { MovementScope } from '../../app/ports/account.repository.port';
import type { Account, ExternalAccount } from '../../domain/account';
import type { AccountEvent } from '../../domain/account-events';
import { idempotencyKeyReused } from '../../domain/errors';
import type { LedgerEntry, Transaction } from '../../domain/ledger';
import type { Book, PostingTransition } from '../../domain/postings';

/** An idempotency key as first used: by which request, for which transaction. */
export interface IdempotencyRecord {
  key: string;
  /** Hash of the canonical request the key was first used with. */
  requestHash: string;
  transactionId: string;
}

/** A money movement waiting for its batch. */
export interface QueuedMovement {
  scope: MovementScope;
  change: (book: Book, now: Date) => PostingTransition;
  /** The submitting request's W3C trace context, for its event. */
  trace: Record<string, string>;
}

/** What one movement came to inside a batch attempt (settled only after the commit). */
export type Outcome =
  | { applied: Transaction }
  | { sameAs: Transaction }
  | { replayOf: IdempotencyRecord }
  | { error: DomainError };

/** A state to write, guarded by the version it was read at. */
export interface Versioned<T> {
  state: T;
  previousVersion: number;
}

/** What a batch writes in its transaction, and what each of its movements came to. */
export interface BatchWrites {
  outcomes: Outcome[];
  claims: IdempotencyRecord[];
  /** Each changed account once, at its final state. */
  accounts: Array<Versioned<Account>>;
  external?: Versioned<ExternalAccount>;
  entries: LedgerEntry[];
  events: AccountEvent[];
  /** `traceContexts[i]`: the trace context of the request behind `events[i]`. */
  traceContexts: Array<Record<string, string>>;
}

/**
 * Applies the movements of a batch in queue order, each to the balances the ones before it left
 * (`read`: the accounts, external account and idempotency records as the transaction read them).
 * A movement whose `change` breaks a rule (a DomainError) is left out whole and fails alone; a
 * key recorded before replays; a key used earlier in the batch gives that movement's transaction
 * (same request) or IDEMPOTENCY_KEY_REUSED.
 */
export function applyBatch(
  items: QueuedMovement[],
  read: {
    accounts: Map<string, Account>;
    external?: ExternalAccount;
    recorded: Map<string, IdempotencyRecord>;
  },
  now: Date,
): BatchWrites {
  const current = new Map(read.accounts);
  let external = read.external;
  const claimed = new Map<string, { requestHash: string; transaction: Transaction }>();
  const changed = new Map<string, Versioned<Account>>();
  const writes: BatchWrites = {
    outcomes: [],
    claims: [],
    accounts: [],
    entries: [],
    events: [],
    traceContexts: [],
  };

  for (const { scope, change, trace } of items) {
    const { idempotencyKey: key, requestHash } = scope;
    const earlier = read.recorded.get(key);
    if (earlier) {
      writes.outcomes.push({ replayOf: earlier });
      continue;
    }
    const sibling = claimed.get(key);
    if (sibling) {
      writes.outcomes.push(
        sibling.requestHash === requestHash
          ? { sameAs: sibling.transaction }
          : { error: idempotencyKeyReused(key) },
      );
      continue;
    }
    let t: PostingTransition;
    try {
      t = change({ accounts: current, external }, now);
    } catch (err) {
      // A broken rule fails this movement alone; anything else fails the batch.
      if (!(err instanceof DomainError)) throw err;
      writes.outcomes.push({ error: err });
      continue;
    }
    for (const account of t.accounts) {
      const before = read.accounts.get(account.id);
      if (!before) throw new Error(`a movement changed ${account.id}, which it did not read`);
      const previousVersion = changed.get(account.id)?.previousVersion ?? before.version;
      changed.set(account.id, { state: account, previousVersion });
      current.set(account.id, account);
    }
    if (t.external) external = t.external;
    claimed.set(key, { requestHash, transaction: t.transaction });
    writes.claims.push({ key, requestHash, transactionId: t.transaction.id });
    writes.entries.push(...t.transaction.entries);
    writes.events.push(...t.events);
    writes.traceContexts.push(...t.events.map(() => trace));
    writes.outcomes.push({ applied: t.transaction });
  }

  writes.accounts = [...changed.values()];
  if (read.external && external !== read.external) {
    writes.external = { state: external!, previousVersion: read.external.version };
  }
  return writes;
}
