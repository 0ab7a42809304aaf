import { createHash } from 'node:crypto';
import type { Logger } from '@trellis/platform/logging';
import type { AccountEvent } from '../domain/account-events';
import { idempotencyKeyReused } from '../domain/errors';
import type { Transaction } from '../domain/ledger';
import {
  type AccountStore,
  type AccountUnitOfWork,
  type IdempotencyRecord,
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

function replay(record: IdempotencyRecord, hash: string): MovementResult {
  if (record.requestHash !== hash) throw idempotencyKeyReused(record.key);
  return { transaction: record.transaction, replayed: true };
}

/**
 * The idempotent frame shared by Deposit, Withdraw and Transfer: in one transaction, return the
 * remembered result of the key if there is one, else apply the movement and record the key, the
 * ledger entries and the events together. Copies of a request racing each other end up either
 * queued behind the first (same process) or in a write conflict that reruns them; either way
 * they find the first one's record and return its result.
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
    ): Promise<{ transaction: Transaction; events: AccountEvent[] }>;
  },
): Promise<MovementResult> {
  const { idempotencyKey: key, requestHash: hash } = input;
  let result: MovementResult;
  try {
    result = await deps.store.transact([`idempotency:${key}`, ...input.accountIds], async (uow) => {
      const existing = await uow.getIdempotencyRecord(key);
      if (existing) return replay(existing, hash);
      const { transaction, events } = await input.apply(uow, new Date());
      await uow.insertIdempotencyRecord({ key, requestHash: hash, transaction });
      await uow.publish(events);
      return { transaction, replayed: false };
    });
  } catch (err) {
    if (!(err instanceof IdempotencyKeyTaken)) throw err;
    const record = await deps.store.getIdempotencyRecord(key);
    if (!record) throw err;
    result = replay(record, hash);
  }
  const { transaction } = result;
  if (result.replayed) {
    deps.logger.debug({ transaction_id: transaction.id }, 'idempotent replay');
  } else {
    // The audit trail: ids and amounts only, never names or addresses.
    deps.logger.info(
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
  return result;
}
