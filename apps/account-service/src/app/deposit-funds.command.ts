import type { Money } from '../domain/money';
import { Violations } from '../domain/validation';
import type { ExternalPostings } from './external-postings';
import { type MovementResult, requestHash } from './money-movement';

export interface DepositFundsCommand {
  accountId: string;
  amount: Money | undefined;
  idempotencyKey: string;
  reference: string;
}

/** Credits an account from the external (cash) account of its currency. */
export class DepositFunds {
  constructor(private readonly deps: { postings: ExternalPostings; maxAmountUnits: bigint }) {}

  async execute(cmd: DepositFundsCommand): Promise<MovementResult> {
    const v = new Violations();
    v.accountId('account_id', cmd.accountId);
    v.amount('amount', cmd.amount, this.deps.maxAmountUnits);
    v.idempotencyKey('idempotency_key', cmd.idempotencyKey);
    v.text('reference', cmd.reference);
    v.throwIfAny();
    const amount = cmd.amount!;
    return this.deps.postings.submit({
      kind: 'DEPOSIT',
      accountId: cmd.accountId,
      amount,
      idempotencyKey: cmd.idempotencyKey,
      reference: cmd.reference,
      requestHash: requestHash('Deposit', [
        cmd.accountId,
        amount.currency,
        amount.units,
        cmd.reference,
      ]),
    });
  }
}
