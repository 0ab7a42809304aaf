import type { Account } from './account';
import type { Transaction } from './ledger';

/** What the account service tells the world (published to account.events.v1 via the outbox). */
export type AccountEvent =
  | { type: 'AccountOpened'; account: Account }
  | { type: 'FundsDeposited'; account: Account; transaction: Transaction }
  | { type: 'FundsWithdrawn'; account: Account; transaction: Transaction }
  | { type: 'TransferCompleted'; from: Account; to: Account; transaction: Transaction }
  | {
      type: 'AccountFrozen' | 'AccountUnfrozen' | 'AccountClosed';
      account: Account;
      reason: string;
      at: Date;
    };
