import type { Account } from '../domain/account';
import {
  type ChangeAccountStatusCommand,
  type ChangeAccountStatusDeps,
  changeAccountStatus,
} from './support/change-account-status';

/** ACTIVE or FROZEN -> CLOSED, only at a zero balance; final. Publishes AccountClosed. */
export class CloseAccount {
  constructor(private readonly deps: ChangeAccountStatusDeps) {}

  execute(cmd: ChangeAccountStatusCommand): Promise<Account> {
    return changeAccountStatus(this.deps, 'AccountClosed', cmd);
  }
}
