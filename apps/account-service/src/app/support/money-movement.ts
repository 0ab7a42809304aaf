import { requestHash } from '@trellis/platform/errors';
import type { Money } from '../../domain/money';
import { Violations } from '../../domain/validation';
import type { AccountRepository, MovementScope } from '../ports/account.repository.port';
import type { AuditLog } from '../ports/audit-log.port';

/** What Deposit, Withdraw and Transfer depend on. */
export interface MoneyMovementDeps {
  accounts: AccountRepository;
  audit: AuditLog;
  /** Largest amount one request may move (minor units). */
  maxAmountUnits: bigint;
}

/** A Deposit or Withdraw request: one account against the external account of its currency. */
export interface ExternalMovementCommand {
  accountId: string;
  amount: Money | undefined;
  idempotencyKey: string;
  reference: string;
}

/** Validates a Deposit/Withdraw at the edge; its amount and the scope of its repository call. */
export function externalMovement(
  rpc: 'Deposit' | 'Withdraw',
  cmd: ExternalMovementCommand,
  maxAmountUnits: bigint,
): { amount: Money; scope: MovementScope } {
  const v = new Violations();
  v.accountId('account_id', cmd.accountId);
  v.amount('amount', cmd.amount, maxAmountUnits);
  v.idempotencyKey('idempotency_key', cmd.idempotencyKey);
  v.text('reference', cmd.reference);
  v.throwIfAny();
  const amount = cmd.amount!;
  return {
    amount,
    scope: {
      accountIds: [cmd.accountId],
      currency: amount.currency,
      external: true,
      idempotencyKey: cmd.idempotencyKey,
      requestHash: requestHash([
        rpc,
        cmd.accountId,
        amount.currency,
        String(amount.units),
        cmd.reference,
      ]),
    },
  };
}
