import {
  type ExternalMovementCommand,
  type ExternalMovementDeps,
  submitExternalMovement,
} from './external-movement';
import type { MovementResult } from './money-movement';

export type DepositFundsCommand = ExternalMovementCommand;

/** Credits an account from the external (cash) account of its currency. */
export class DepositFunds {
  constructor(private readonly deps: ExternalMovementDeps) {}

  execute(cmd: DepositFundsCommand): Promise<MovementResult> {
    return submitExternalMovement(this.deps, 'DEPOSIT', 'Deposit', cmd);
  }
}
