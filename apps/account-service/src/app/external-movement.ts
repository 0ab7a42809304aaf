import { requestHash } from '@trellis/platform/errors';
import type { Money } from '../domain/money';
import { Violations } from '../domain/validation';
import type { Postings } from './postings';
import { type MovementResult } from './money-movement';

/** A Deposit or Withdraw request: one account against the external account of its currency. */
export interface ExternalMovementCommand {
  accountId: string;
  amount: Money | undefined;
  idempotencyKey: string;
  reference: string;
}

export interface ExternalMovementDeps {
  postings: Postings;
  maxAmountUnits: bigint;
}

/** Validates a Deposit/Withdraw at the edge and submits it to the per-currency postings batcher. */
export function submitExternalMovement(
  deps: ExternalMovementDeps,
  type: 'DEPOSIT' | 'WITHDRAWAL',
  rpc: 'Deposit' | 'Withdraw',
  cmd: ExternalMovementCommand,
): Promise<MovementResult> {
  const v = new Violations();
  v.accountId('account_id', cmd.accountId);
  v.amount('amount', cmd.amount, deps.maxAmountUnits);
  v.idempotencyKey('idempotency_key', cmd.idempotencyKey);
  v.text('reference', cmd.reference);
  v.throwIfAny();
  const amount = cmd.amount!;
  return deps.postings.submit({
    type,
    accountId: cmd.accountId,
    amount,
    idempotencyKey: cmd.idempotencyKey,
    reference: cmd.reference,
    requestHash: requestHash([
      rpc,
      cmd.accountId,
      amount.currency,
      String(amount.units),
      cmd.reference,
    ]),
  });
}
