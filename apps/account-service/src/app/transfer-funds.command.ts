import { requestHash } from '@trellis/platform/errors';
import type { Money } from '../domain/money';
import { postingIds, transfer } from '../domain/postings';
import { Violations } from '../domain/validation';
import type { MovementResult } from './ports/account.repository.port';
import type { MoneyMovementDeps } from './support/money-movement';

export interface TransferFundsCommand {
  fromAccountId: string;
  toAccountId: string;
  amount: Money | undefined;
  idempotencyKey: string;
  reference: string;
}

/** Moves money between two ACTIVE accounts of one currency, atomically. */
export class TransferFunds {
  constructor(private readonly deps: MoneyMovementDeps) {}

  async execute(cmd: TransferFundsCommand): Promise<MovementResult> {
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
    const { fromAccountId, toAccountId, idempotencyKey, reference } = cmd;
    const result = await this.deps.accounts.transact(
      {
        accountIds: [fromAccountId, toAccountId],
        currency: amount.currency,
        external: false,
        idempotencyKey,
        requestHash: requestHash([
          'Transfer',
          fromAccountId,
          toAccountId,
          amount.currency,
          String(amount.units),
          reference,
        ]),
      },
      (book, now) =>
        transfer(
          book,
          { fromAccountId, toAccountId, amount, idempotencyKey, reference, ...postingIds() },
          now,
        ),
    );
    if (!result.replayed) this.deps.audit.moneyMoved(result.transaction);
    return result;
  }
}
