import type { Account } from '../domain/account';
import {
  type ChangeAccountStatusCommand,
  type ChangeAccountStatusDeps,
  changeAccountStatus,
} from './support/change-account-status';

/** FROZEN -> ACTIVE. Publishes AccountUnfrozen. */
export class UnfreezeAccount {
  constructor(private readonly deps: ChangeAccountStatusDeps) {}

  execute(cmd: ChangeAccountStatusCommand): Promise<Account> {
    return changeAccountStatus(this.deps, 'AccountUnfrozen', cmd);
  }
}
