/**
 * Server sessions (keyed by `lsid.id`), their transaction numbers, the open multi-document
 * transaction, and the remembered reply of the last retryable write
 * (specifications `source/transactions/transactions.md`, `source/retryable-writes/retryable-writes.md`).
 */
import { Binary, Long, type Document } from 'bson';
import { CommandError, noSuchTransaction } from '../errors';
import type { Engine } from '../storage/engine';
import type { Transaction } from './transaction';

export interface ServerSession {
  key: string;
  /** The lsid as the client first sent it (killAllSessionsByPattern matches on it). */
  lsid: Document;
  /** Highest txnNumber seen (transactions and retryable writes share the counter). */
  txnNumber: number;
  /** The transaction for `txnNumber`, if that number started one. */
  txn: Transaction | null;
  /** Reply of the retryable write with number `retryTxnNumber`. */
  retryReply: Document | null;
  retryTxnNumber: number;
  lastUsed: number;
}

export class SessionRegistry {
  private readonly sessions = new Map<string, ServerSession>();

  constructor(
    private readonly engine: Engine,
    /** transactionLifetimeLimitSeconds × 1000; settable with setParameter. */
    public transactionLifetimeMs: number,
  ) {}

  get(lsid: unknown): ServerSession {
    const key = sessionKey(lsid);
    let session = this.sessions.get(key);
    if (!session) {
      session = {
        key,
        lsid: lsid as Document,
        txnNumber: -1,
        txn: null,
        retryReply: null,
        retryTxnNumber: -1,
        lastUsed: Date.now(),
      };
      this.sessions.set(key, session);
    }
    session.lastUsed = Date.now();
    return session;
  }

  end(lsid: unknown): void {
    const key = sessionKey(lsid);
    const session = this.sessions.get(key);
    if (!session) return;
    if (session.txn) this.engine.abort(session.txn, 'session ended');
    this.sessions.delete(key);
  }

  /**
   * killSessions and friends: aborts the open transaction of every session `matches` selects,
   * releasing its locks, and forgets the session (a later command with its lsid starts afresh and
   * finds no transaction: NoSuchTransaction). Returns how many sessions were killed.
   */
  kill(matches: (lsid: Document) => boolean): number {
    let killed = 0;
    for (const [key, session] of this.sessions) {
      if (!matches(session.lsid)) continue;
      if (session.txn) this.engine.abort(session.txn, 'session killed');
      this.sessions.delete(key);
      killed++;
    }
    return killed;
  }

  /**
   * Resolves the transaction a command with `autocommit: false` belongs to, starting one when
   * `startTransaction` is set. Errors follow mongod: 225 for an old number, 251 otherwise.
   */
  transactionFor(
    session: ServerSession,
    txnNumber: number,
    start: boolean,
    commandName: string,
  ): Transaction {
    if (txnNumber < session.txnNumber) {
      throw CommandError.of(
        'TransactionTooOld',
        `Cannot start transaction ${txnNumber} on session ${session.key} because a newer transaction ${session.txnNumber} has already started.`,
      );
    }
    if (start) {
      if (txnNumber === session.txnNumber) {
        throw CommandError.of(
          'ConflictingOperationInProgress',
          `txnNumber ${txnNumber} for session ${session.key} is already in use`,
        );
      }
      if (session.txn) this.engine.abort(session.txn, 'superseded by a newer transaction');
      session.txnNumber = txnNumber;
      session.txn = this.engine.begin(false, txnNumber);
      return session.txn;
    }
    const txn = session.txn;
    if (txnNumber > session.txnNumber || !txn || txn.txnNumber !== txnNumber)
      throw noSuchTransaction(txnNumber);
    if (
      txn.state === 'committed' &&
      commandName !== 'commitTransaction' &&
      commandName !== 'abortTransaction'
    ) {
      throw CommandError.of(
        'TransactionCommitted',
        `Transaction with { txnNumber: ${txnNumber} } has been committed.`,
      );
    }
    if (txn.state === 'aborted' && commandName !== 'abortTransaction')
      throw noSuchTransaction(txnNumber);
    return txn;
  }

  /** A retryable write (txnNumber without autocommit): returns the remembered reply of a retry. */
  beginRetryableWrite(session: ServerSession, txnNumber: number): Document | null {
    if (txnNumber < session.txnNumber) {
      throw CommandError.of(
        'TransactionTooOld',
        `Retryable write with txnNumber ${txnNumber} is prohibited on session ${session.key} because a newer retryable write with txnNumber ${session.txnNumber} has already started on this session.`,
      );
    }
    if (txnNumber === session.retryTxnNumber && session.retryReply) return session.retryReply;
    if (session.txn && session.txn.txnNumber < txnNumber)
      this.engine.abort(session.txn, 'superseded by a retryable write');
    session.txnNumber = txnNumber;
    return null;
  }

  rememberRetryableWrite(session: ServerSession, txnNumber: number, reply: Document): void {
    session.retryTxnNumber = txnNumber;
    session.retryReply = reply;
  }

  /** Aborts transactions past transactionLifetimeLimitSeconds and forgets idle sessions (30 min). */
  expire(now = Date.now()): number {
    let aborted = 0;
    for (const [key, session] of this.sessions) {
      const txn = session.txn;
      if (txn && txn.state === 'active' && now - txn.startedAt > this.transactionLifetimeMs) {
        this.engine.abort(txn, 'transactionLifetimeLimitSeconds exceeded');
        aborted++;
      }
      if (now - session.lastUsed > 30 * 60_000 && (!txn || txn.state !== 'active'))
        this.sessions.delete(key);
    }
    return aborted;
  }

  abortAll(): void {
    for (const session of this.sessions.values())
      if (session.txn) this.engine.abort(session.txn, 'server shutdown');
  }
}

export function sessionKey(lsid: unknown): string {
  const id = (lsid as Document | null)?.id;
  if (id instanceof Binary) return Buffer.from(id.buffer).toString('hex');
  if (id === undefined)
    throw CommandError.of('BadValue', 'lsid must be an object with an id field');
  return String(id);
}

/** txnNumber arrives as Int64: a Long, or a JS number after bson's promotion. */
export function toNumber(v: unknown): number {
  if (typeof v === 'number') return v;
  if (typeof v === 'bigint') return Number(v);
  if (v instanceof Long) return v.toNumber();
  throw CommandError.of('TypeMismatch', `expected a number, got ${typeof v}`);
}
