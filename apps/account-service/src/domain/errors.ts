import {
  idempotencyKeyReused as platformIdempotencyKeyReused,
  NotFoundError,
  PreconditionFailedError,
} from '@trellis/platform/errors';

// The business-rule failures of the account API; reasons are trellis.common.v1.ErrorReason names.

export const accountNotFound = (accountId: string) => new NotFoundError('account', accountId);

/** Amounts in the account's minor units; an account without an overdraft is not told of one. */
export const insufficientFunds = (
  account: { id: string; balance: bigint; overdraftLimit: bigint; currency: string },
  debit: bigint,
) => {
  const overdraft =
    account.overdraftLimit > 0n ? ` beyond its overdraft limit of ${account.overdraftLimit}` : '';
  return new PreconditionFailedError(
    'ACCOUNT.INSUFFICIENT_FUNDS',
    `account ${account.id} has insufficient funds: a debit of ${debit} from a balance of ` +
      `${account.balance}${overdraft} (${account.currency} minor units)`,
    { account_id: account.id },
  );
};

export const accountFrozen = (accountId: string) =>
  new PreconditionFailedError('ACCOUNT.ACCOUNT_FROZEN', `account ${accountId} is frozen`, {
    account_id: accountId,
  });

export const accountClosed = (accountId: string) =>
  new PreconditionFailedError('ACCOUNT.ACCOUNT_CLOSED', `account ${accountId} is closed`, {
    account_id: accountId,
  });

export const currencyMismatch = (accountId: string, expected: string, actual: string) =>
  new PreconditionFailedError(
    'ACCOUNT.CURRENCY_MISMATCH',
    `account ${accountId} holds ${expected}, not ${actual}`,
    { account_id: accountId, expected_currency: expected, actual_currency: actual },
  );

export const nonzeroBalance = (accountId: string) =>
  new PreconditionFailedError(
    'ACCOUNT.NONZERO_BALANCE',
    `account ${accountId} can only be closed at a zero balance`,
    { account_id: accountId },
  );

export const illegalTransition = (accountId: string, currentState: string, action: string) =>
  new PreconditionFailedError(
    'ACCOUNT.ILLEGAL_TRANSITION',
    `cannot ${action} account ${accountId} in state ${currentState}`,
    { account_id: accountId, current_state: currentState },
  );

/** ABORTED ACCOUNT.IDEMPOTENCY_KEY_REUSED: the key was used with a different request. */
export const idempotencyKeyReused = (key: string) => platformIdempotencyKeyReused('ACCOUNT', key);
