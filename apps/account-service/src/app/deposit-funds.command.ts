import { postingIds, deposit } from '../domain/postings';
import type { MovementResult } from './ports/account.repository.port';
import {
  type ExternalMovementCommand,
  externalMovement,
  type MoneyMovementDeps,
} from './support/money-movement';

export type DepositFundsCommand = ExternalMovementCommand;

/** Credits an account from the external (cash) account of its currency. */
export class DepositFunds {
  constructor(private readonly deps: MoneyMovementDeps) {}

  async execute(cmd: DepositFundsCommand): Promise<MovementResult> {
    const { amount, scope } = externalMovement('Deposit', cmd, this.deps.maxAmountUnits);
    const { accountId, idempotencyKey, reference } = cmd;
    const result = await this.deps.accounts.transact(scope, (book, now) =>
      deposit(book, { accountId, amount, idempotencyKey, reference, ...postingIds() }, now),
    );
    if (!result.replayed) this.deps.audit.moneyMoved(result.transaction);
    return result;
  }
}
