import { type Account, changeStatus, type StatusChange } from '../../domain/account';
import { Violations } from '../../domain/validation';
import type { AccountRepository } from '../ports/account.repository.port';
import type { Runtime } from '../ports/runtime.port';

export interface ChangeAccountStatusCommand {
  accountId: string;
  reason: string;
}

export interface ChangeAccountStatusDeps {
  accounts: AccountRepository;
  runtime: Runtime;
}

/** The shared frame of Freeze/Unfreeze/CloseAccount: validate, then one status change. */
export function changeAccountStatus(
  deps: ChangeAccountStatusDeps,
  change: StatusChange,
  cmd: ChangeAccountStatusCommand,
): Promise<Account> {
  const v = new Violations();
  v.accountId('account_id', cmd.accountId);
  v.text('reason', cmd.reason);
  v.throwIfAny();
  const now = deps.runtime.now();
  return deps.accounts.update(cmd.accountId, (account) =>
    changeStatus(account, change, cmd.reason, now),
  );
}
