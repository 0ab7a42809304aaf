import type { Account } from '../domain/account';
import {
  type ChangeAccountStatusCommand,
  type ChangeAccountStatusDeps,
  changeAccountStatus,
} from './support/change-account-status';

/** ACTIVE -> FROZEN; frozen accounts reject money movements. Publishes AccountFrozen. */
export class FreezeAccount {
  constructor(private readonly deps: ChangeAccountStatusDeps) {}

  execute(cmd: ChangeAccountStatusCommand): Promise<Account> {
    return changeAccountStatus(this.deps, 'AccountFrozen', cmd);
  }
}
