import { replayable } from '@trellis/platform/errors';
import type { Logger } from '@trellis/platform/logging';
import type { Transaction } from '../domain/ledger';
import type { AccountStore } from './account-store.port';

export interface MoneyMovementDeps {
  store: AccountStore;
  /** Gets one audit line per applied movement. */
  logger: Logger;
  /** Largest amount one request may move (minor units). */
  maxAmountUnits: bigint;
}

export interface MovementResult {
  transaction: Transaction;
  /** True when the idempotency key had already been used with this request. */
  replayed: boolean;
}

/** The audit trail of an applied movement: ids and amounts only, never names or addresses. */
export function audit(logger: Logger, transaction: Transaction): void {
  logger.info(
    {
      audit: 'money_movement',
      transaction_id: transaction.id,
      transaction_type: transaction.type,
      debit_account_id: transaction.debitAccountId,
      credit_account_id: transaction.creditAccountId,
      amount_units: transaction.amount.toString(),
      currency_code: transaction.currency,
      debit_balance_after: transaction.entries[0].balanceAfter.toString(),
      credit_balance_after: transaction.entries[1].balanceAfter.toString(),
    },
    'money moved',
  );
}

/** The result of the request that first used `key`, if this is the same request. */
export async function replay(
  store: AccountStore,
  key: string,
  hash: string,
  cause: Error,
): Promise<MovementResult> {
  const record = await store.getIdempotencyRecord(key);
  if (!record) throw cause;
  const transaction = await store.getTransaction(
    replayable(record, hash, 'ACCOUNT', key).transactionId,
    key,
  );
  if (!transaction) throw cause;
  return { transaction, replayed: true };
}
