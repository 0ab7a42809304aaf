import type { Account } from '../domain/account';
import type { AccountStore } from './account-store.port';
import { type ChangeAccountStatusCommand, changeAccountStatus } from './change-account-status';

/** ACTIVE -> FROZEN; frozen accounts reject money movements. Publishes AccountFrozen. */
export class FreezeAccount {
  constructor(private readonly deps: { store: AccountStore }) {}

  execute(cmd: ChangeAccountStatusCommand): Promise<Account> {
    return changeAccountStatus(this.deps.store, 'AccountFrozen', cmd);
  }
}
