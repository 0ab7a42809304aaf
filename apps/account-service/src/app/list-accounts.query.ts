import { decodePageToken, encodePageToken } from '@trellis/platform/errors';
import type { Account, AccountStatus } from '../domain/account';
import { Violations } from '../domain/validation';
import type { AccountRepository } from './ports/account.repository.port';

const STATUSES: readonly AccountStatus[] = ['ACTIVE', 'FROZEN', 'CLOSED'];

export interface ListAccountsQuery {
  pageSize: number;
  pageToken: string;
  /** '' for any status. */
  status: string;
  email: string;
}

/** Accounts newest first, optionally filtered by status and (case-insensitive) email. */
export class ListAccounts {
  constructor(private readonly deps: { accounts: AccountRepository }) {}

  async execute(query: ListAccountsQuery): Promise<{ accounts: Account[]; nextPageToken: string }> {
    const v = new Violations();
    const pageSize = v.pageSize('page_size', query.pageSize);
    // Every account has a valid address: a filter by anything else could match nothing.
    if (query.email !== '') v.email('email', query.email);
    if (query.status !== '' && !STATUSES.includes(query.status as AccountStatus)) {
      v.add('status', 'is not an account status');
    }
    v.throwIfAny();
    const status = query.status === '' ? undefined : (query.status as AccountStatus);
    const email = query.email === '' ? undefined : query.email.toLowerCase();
    const scope = `accounts:${query.status}:${email ?? ''}`;
    const after = decodePageToken(query.pageToken, scope, {
      isKey: (key): key is string => typeof key === 'string',
    });
    const page = await this.deps.accounts.list({ status, email }, after, pageSize + 1);
    const accounts = page.slice(0, pageSize);
    const nextPageToken =
      page.length > pageSize ? encodePageToken(accounts[accounts.length - 1].id, scope) : '';
    return { accounts, nextPageToken };
  }
}
