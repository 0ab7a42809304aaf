import type { Money } from '../domain/money';
import { Violations } from '../domain/validation';
import { requestHash } from '@trellis/platform/errors';
import { type MoneyMovementDeps, type MovementResult } from './money-movement';
import { Postings } from './postings';

export interface TransferFundsCommand {
  fromAccountId: string;
  toAccountId: string;
  amount: Money | undefined;
  idempotencyKey: string;
  reference: string;
}

/**
 * Moves money between two ACTIVE accounts of one currency, atomically. Concurrent transfers are
 * applied in batches, one transaction each (see Postings).
 */
export class TransferFunds {
  private readonly postings: Postings;

  constructor(private readonly deps: MoneyMovementDeps) {
    this.postings = new Postings({ store: deps.store, logger: deps.logger });
  }

  execute(cmd: TransferFundsCommand): Promise<MovementResult> {
    const v = new Violations();
    v.accountId('from_account_id', cmd.fromAccountId);
    v.accountId('to_account_id', cmd.toAccountId);
    if (cmd.fromAccountId !== '' && cmd.fromAccountId === cmd.toAccountId) {
      v.add('to_account_id', 'must differ from from_account_id');
    }
    v.amount('amount', cmd.amount, this.deps.maxAmountUnits);
    v.idempotencyKey('idempotency_key', cmd.idempotencyKey);
    v.text('reference', cmd.reference);
    v.throwIfAny();
    const amount = cmd.amount!;
    return this.postings.submit({
      type: 'TRANSFER',
      fromAccountId: cmd.fromAccountId,
      toAccountId: cmd.toAccountId,
      amount,
      idempotencyKey: cmd.idempotencyKey,
      reference: cmd.reference,
      requestHash: requestHash([
        'Transfer',
        cmd.fromAccountId,
        cmd.toAccountId,
        amount.currency,
        String(amount.units),
        cmd.reference,
      ]),
    });
  }
}
