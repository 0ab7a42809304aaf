import type { Account } from '../domain/account';
import type { AccountStore } from './account-store.port';
import { type ChangeAccountStatusCommand, changeAccountStatus } from './change-account-status';

/** ACTIVE or FROZEN -> CLOSED, only at a zero balance; final. Publishes AccountClosed. */
export class CloseAccount {
  constructor(private readonly deps: { store: AccountStore }) {}

  execute(cmd: ChangeAccountStatusCommand): Promise<Account> {
    return changeAccountStatus(this.deps.store, 'AccountClosed', cmd);
  }
}
