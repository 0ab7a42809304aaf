/**
 * The error labels mongod attaches to a reply (its `ErrorLabelBuilder`, src/mongo/db/error_labels.cpp):
 *
 * - `TransientTransactionError`: a statement of a transaction (`autocommit` present) failed with a
 *   code after which rerunning the whole transaction is safe.
 * - `RetryableWriteError`: a retryable write (txnNumber without autocommit), or commit/abort of a
 *   transaction, failed with a retriable code — either as the command error or in its
 *   writeConcernError. Drivers talking to 4.4+ retry writes only on this label.
 *
 * `UnknownTransactionCommitResult` is never added by the server: drivers add it themselves.
 */
import type { Document } from 'bson';
import { ErrorCodes, TRANSIENT_TRANSACTION_ERROR } from '../errors';

export const RETRYABLE_WRITE_ERROR = 'RetryableWriteError';

/** mongod's `RetriableError` category (error_codes.yml). */
const RETRIABLE_CODES = new Set([
  6, // HostUnreachable
  7, // HostNotFound
  89, // NetworkTimeout
  91, // ShutdownInProgress
  133, // FailedToSatisfyReadPreference
  134, // ReadConcernMajorityNotAvailableYet
  189, // PrimarySteppedDown
  202, // NetworkInterfaceExceededTimeLimit
  262, // ExceededTimeLimit
  9001, // SocketException
  10107, // NotWritablePrimary
  11600, // InterruptedAtShutdown
  11602, // InterruptedDueToReplStateChange
  13435, // NotPrimaryNoSecondaryOk
  13436, // NotPrimaryOrSecondary
]);

/** Always transient inside a transaction (plus snapshot and stale-routing errors). */
const TRANSIENT_CODES = new Set<number>([
  ErrorCodes.WriteConflict,
  24, // LockTimeout
  239, // SnapshotTooOld
  246, // SnapshotUnavailable
  249, // StaleDbVersion
  267, // PreparedTransactionInProgress
  13388, // StaleConfig
]);

const COMMIT_OR_ABORT = new Set(['commitTransaction', 'abortTransaction']);

export function isRetriableCode(code: number): boolean {
  return RETRIABLE_CODES.has(code);
}

/**
 * The labels mongod puts on a reply to `cmd` (named `name`) that failed with `code` and/or carries
 * a writeConcernError with `wcCode`.
 */
export function serverErrorLabels(
  name: string,
  cmd: Document,
  code: number | undefined,
  wcCode: number | undefined,
): string[] {
  const hasTxnNumber = cmd.txnNumber !== undefined;
  const inTransaction = hasTxnNumber && cmd.autocommit !== undefined;
  const commitOrAbort = COMMIT_OR_ABORT.has(name);
  if (code !== undefined && inTransaction && isTransientInTransaction(code, wcCode, commitOrAbort))
    return [TRANSIENT_TRANSACTION_ERROR];
  const retryableWrite = hasTxnNumber && cmd.autocommit === undefined;
  if (
    (retryableWrite || (inTransaction && commitOrAbort)) &&
    ((code !== undefined && RETRIABLE_CODES.has(code)) ||
      (wcCode !== undefined && RETRIABLE_CODES.has(wcCode)))
  ) {
    return [RETRYABLE_WRITE_ERROR];
  }
  return [];
}

function isTransientInTransaction(
  code: number,
  wcCode: number | undefined,
  commitOrAbort: boolean,
): boolean {
  if (TRANSIENT_CODES.has(code)) return true;
  // After commit/abort a NoSuchTransaction is safe to retry only if nothing can be rolled back.
  if (commitOrAbort) return code === ErrorCodes.NoSuchTransaction && wcCode === undefined;
  return RETRIABLE_CODES.has(code) || code === ErrorCodes.NoSuchTransaction;
}
