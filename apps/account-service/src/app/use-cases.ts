import type { CloseAccount } from './close-account.command';
import type { DepositFunds } from './deposit-funds.command';
import type { FreezeAccount } from './freeze-account.command';
import type { GetAccount } from './get-account.query';
import type { ListAccounts } from './list-accounts.query';
import type { ListLedgerEntries } from './list-ledger-entries.query';
import type { OpenAccount } from './open-account.command';
import type { TransferFunds } from './transfer-funds.command';
import type { UnfreezeAccount } from './unfreeze-account.command';
import type { WithdrawFunds } from './withdraw-funds.command';

/** The account service's use cases: all the gRPC handler gets. */
export interface AccountUseCases {
  openAccount: OpenAccount;
  getAccount: GetAccount;
  listAccounts: ListAccounts;
  depositFunds: DepositFunds;
  withdrawFunds: WithdrawFunds;
  transferFunds: TransferFunds;
  freezeAccount: FreezeAccount;
  unfreezeAccount: UnfreezeAccount;
  closeAccount: CloseAccount;
  listLedgerEntries: ListLedgerEntries;
}
