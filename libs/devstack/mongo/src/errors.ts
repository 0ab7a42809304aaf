/**
 * Errors in MongoDB's own shape: `{ok: 0, errmsg, code, codeName, errorLabels?}` plus any extra
 * fields (keyPattern/keyValue for 11000). Codes and names are those of mongod's
 * `src/mongo/base/error_codes.yml`.
 */
import type { Document } from 'bson';
import { INJECTABLE_CODE_NAMES } from './error-code-names';

export const ErrorCodes = {
  BadValue: 2,
  FailedToParse: 9,
  TypeMismatch: 14,
  InvalidLength: 16,
  IllegalOperation: 20,
  NamespaceNotFound: 26,
  IndexNotFound: 27,
  CursorNotFound: 43,
  NamespaceExists: 48,
  MaxTimeMSExpired: 50,
  CommandNotFound: 59,
  ImmutableField: 66,
  CannotCreateIndex: 67,
  InvalidOptions: 72,
  InvalidNamespace: 73,
  IndexOptionsConflict: 85,
  IndexKeySpecsConflict: 86,
  WriteConflict: 112,
  ConflictingOperationInProgress: 117,
  InvalidPipelineOperator: 168,
  TransactionTooOld: 225,
  NoSuchTransaction: 251,
  TransactionCommitted: 256,
  OperationNotSupportedInTransaction: 263,
  DuplicateKey: 11000,
  UnrecognizedPipelineStage: 40324,
  InvalidIdField: 53,
  Location40415: 40415,
  Location31253: 31253,
  Location31254: 31254,
  Unauthorized: 13,
  BSONObjectTooLarge: 10334,
} as const;

export type ErrorCodeName = keyof typeof ErrorCodes;

const CODE_NAMES: Record<number, string> = Object.fromEntries(
  Object.entries(ErrorCodes).map(([name, code]) => [code, name]),
);
// Codes whose codeName differs from our key.
CODE_NAMES[ErrorCodes.UnrecognizedPipelineStage] = 'Location40324';

export const TRANSIENT_TRANSACTION_ERROR = 'TransientTransactionError';

/** A command failure the client sees as `{ok: 0, ...}`. */
export class CommandError extends Error {
  readonly codeName: string;
  constructor(
    readonly code: number,
    message: string,
    readonly extra: Document = {},
    readonly labels: string[] = [],
  ) {
    super(message);
    this.name = 'CommandError';
    this.codeName = CODE_NAMES[code] ?? INJECTABLE_CODE_NAMES[code] ?? `Location${code}`;
  }

  static of(
    name: ErrorCodeName,
    message: string,
    extra?: Document,
    labels?: string[],
  ): CommandError {
    return new CommandError(ErrorCodes[name], message, extra, labels);
  }

  toReply(): Document {
    const reply: Document = {
      ok: 0,
      errmsg: this.message,
      code: this.code,
      codeName: this.codeName,
    };
    Object.assign(reply, this.extra);
    if (this.labels.length > 0) reply.errorLabels = [...this.labels];
    return reply;
  }

  /** The shape of one entry of `writeErrors`. */
  toWriteError(index: number): Document {
    return { index, code: this.code, codeName: this.codeName, errmsg: this.message, ...this.extra };
  }
}

export function writeConflict(): CommandError {
  return CommandError.of(
    'WriteConflict',
    'Write conflict during plan execution and yielding is disabled. :: Please retry your operation or multi-document transaction.',
    {},
    [TRANSIENT_TRANSACTION_ERROR],
  );
}

export function noSuchTransaction(
  txnNumber: number,
  why = 'does not match any in-progress transactions',
): CommandError {
  return CommandError.of(
    'NoSuchTransaction',
    `Transaction with { txnNumber: ${txnNumber} } has been aborted or ${why}`,
    {},
    [TRANSIENT_TRANSACTION_ERROR],
  );
}
