import { createHash } from 'node:crypto';
import type { Logger } from '@trellis/platform/logging';
import type { AccountEvent } from '../domain/account-events';
import { idempotencyKeyReused } from '../domain/errors';
import type { Transaction } from '../domain/ledger';
import { newTransactionId } from '../domain/ids';
import {
  type AccountStore,
  type AccountUnitOfWork,
  IdempotencyKeyTaken,
} from './account-store.port';

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

/** sha256 over the canonical form of a money request (operation and every field). */
export function requestHash(operation: string, fields: Array<string | bigint>): string {
  return createHash('sha256')
    .update(JSON.stringify([operation, ...fields.map(String)]))
    .digest('base64url');
}

/**
 * The idempotent frame of a Transfer (Deposit and Withdraw: ExternalPostings, the same rules in
 * batches). One transaction first records the idempotency key (unique _id), then applies the
 * movement: balances, ledger entries and events commit together with the key, or nothing does. A copy of the request finds the key taken —
 * at once if the first copy committed, or after a write conflict and rerun if it was still open
 * (copies in this process queue behind each other instead) — and returns the first copy's
 * transaction, rebuilt from the ledger; a different request under the same key is ABORTED.
 */
export async function runMoneyMovement(
  deps: MoneyMovementDeps,
  input: {
    idempotencyKey: string;
    requestHash: string;
    /** The accounts it writes. */
    accountIds: string[];
    apply(
      uow: AccountUnitOfWork,
      now: Date,
      transactionId: string,
    ): Promise<{ transaction: Transaction; events: AccountEvent[] }>;
  },
): Promise<MovementResult> {
  const { idempotencyKey: key, requestHash: hash } = input;
  let result: MovementResult;
  try {
    result = await deps.store.transact([`idempotency:${key}`, ...input.accountIds], async (uow) => {
      const transactionId = newTransactionId();
      await uow.claimIdempotencyKeys([{ key, requestHash: hash, transactionId }]);
      const { transaction, events } = await input.apply(uow, new Date(), transactionId);
      await uow.publish(events);
      return { transaction, replayed: false };
    });
  } catch (err) {
    if (!(err instanceof IdempotencyKeyTaken)) throw err;
    result = await replay(deps.store, key, hash, err);
  }
  const { transaction } = result;
  if (result.replayed) {
    deps.logger.debug({ transaction_id: transaction.id }, 'idempotent replay');
  } else {
    audit(deps.logger, transaction);
  }
  return result;
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
  if (record.requestHash !== hash) throw idempotencyKeyReused(key);
  const transaction = await store.getTransaction(record.transactionId, key);
  if (!transaction) throw cause;
  return { transaction, replayed: true };
}
