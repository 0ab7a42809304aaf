import type { Account } from '../domain/account';
import { accountNotFound } from '../domain/errors';
import { Violations } from '../domain/validation';
import type { AccountRepository } from './ports/account.repository.port';

export class GetAccount {
  constructor(private readonly deps: { accounts: AccountRepository }) {}

  async execute(query: { accountId: string }): Promise<Account> {
    const v = new Violations();
    v.accountId('account_id', query.accountId);
    v.throwIfAny();
    const account = await this.deps.accounts.findById(query.accountId);
    if (!account) throw accountNotFound(query.accountId);
    return account;
  }
}
