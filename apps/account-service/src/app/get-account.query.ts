import type { Account } from '../domain/account';
import { accountNotFound } from '../domain/errors';
import { Violations } from '../domain/validation';
import type { AccountStore } from './account-store.port';

export class GetAccount {
  constructor(private readonly deps: { store: AccountStore }) {}

  async execute(query: { accountId: string }): Promise<Account> {
    const v = new Violations();
    v.accountId('account_id', query.accountId);
    v.throwIfAny();
    const account = await this.deps.store.getAccount(query.accountId);
    if (!account) throw accountNotFound(query.accountId);
    return account;
  }
}
