import { type Account, close, freeze, unfreeze } from '../domain/account';
import { accountNotFound } from '../domain/errors';
import { Violations } from '../domain/validation';
import type { AccountStore } from './account-store.port';

export interface ChangeAccountStatusCommand {
  accountId: string;
  reason: string;
}

const transitions = {
  AccountFrozen: freeze,
  AccountUnfrozen: unfreeze,
  AccountClosed: close,
} as const;

/** The shared frame of Freeze/Unfreeze/CloseAccount: one transition, one event, one transaction. */
export async function changeAccountStatus(
  store: AccountStore,
  event: keyof typeof transitions,
  cmd: ChangeAccountStatusCommand,
): Promise<Account> {
  const v = new Violations();
  v.accountId('account_id', cmd.accountId);
  v.text('reason', cmd.reason);
  v.throwIfAny();
  return store.transact([cmd.accountId], async (uow) => {
    const account = await uow.getAccount(cmd.accountId);
    if (!account) throw accountNotFound(cmd.accountId);
    const now = new Date();
    const changed = transitions[event](account, now);
    await uow.updateAccounts([{ account: changed, previousVersion: account.version }]);
    await uow.publish([{ type: event, account: changed, reason: cmd.reason, at: now }]);
    return changed;
  });
}
