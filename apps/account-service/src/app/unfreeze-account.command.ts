import type { Account } from '../domain/account';
import type { AccountStore } from './account-store.port';
import { type ChangeAccountStatusCommand, changeAccountStatus } from './change-account-status';

/** FROZEN -> ACTIVE. Publishes AccountUnfrozen. */
export class UnfreezeAccount {
  constructor(private readonly deps: { store: AccountStore }) {}

  execute(cmd: ChangeAccountStatusCommand): Promise<Account> {
    return changeAccountStatus(this.deps.store, 'AccountUnfrozen', cmd);
  }
}
