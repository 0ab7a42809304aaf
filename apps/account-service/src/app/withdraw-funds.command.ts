import { postingIds, withdraw } from '../domain/postings';
import type { MovementResult } from './ports/account.repository.port';
import {
  type ExternalMovementCommand,
  externalMovement,
  type MoneyMovementDeps,
} from './support/money-movement';

export type WithdrawFundsCommand = ExternalMovementCommand;

/** Debits an account to the external (cash) account of its currency, within its overdraft. */
export class WithdrawFunds {
  constructor(private readonly deps: MoneyMovementDeps) {}

  async execute(cmd: WithdrawFundsCommand): Promise<MovementResult> {
    const { amount, scope } = externalMovement('Withdraw', cmd, this.deps.maxAmountUnits);
    const { accountId, idempotencyKey, reference } = cmd;
    const result = await this.deps.accounts.transact(scope, (book, now) =>
      withdraw(book, { accountId, amount, idempotencyKey, reference, ...postingIds() }, now),
    );
    if (!result.replayed) this.deps.audit.moneyMoved(result.transaction);
    return result;
  }
}
