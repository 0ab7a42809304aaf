import {
  type ExternalMovementCommand,
  type ExternalMovementDeps,
  submitExternalMovement,
} from './external-movement';
import type { MovementResult } from './money-movement';

export type WithdrawFundsCommand = ExternalMovementCommand;

/** Debits an account to the external (cash) account of its currency, within its overdraft. */
export class WithdrawFunds {
  constructor(private readonly deps: ExternalMovementDeps) {}

  execute(cmd: WithdrawFundsCommand): Promise<MovementResult> {
    return submitExternalMovement(this.deps, 'WITHDRAWAL', 'Withdraw', cmd);
  }
}
