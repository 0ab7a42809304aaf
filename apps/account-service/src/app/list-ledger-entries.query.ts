import { decodePageToken, encodePageToken } from '@trellis/platform/errors';
import { accountNotFound } from '../domain/errors';
import type { LedgerEntry } from '../domain/ledger';
import { Violations } from '../domain/validation';
import type { AccountRepository } from './ports/account.repository.port';

export interface ListLedgerEntriesQuery {
  accountId: string;
  pageSize: number;
  pageToken: string;
}

/** An account's statement: entries newest first, each with the running balance after it. */
export class ListLedgerEntries {
  constructor(private readonly deps: { accounts: AccountRepository }) {}

  async execute(
    query: ListLedgerEntriesQuery,
  ): Promise<{ entries: LedgerEntry[]; nextPageToken: string }> {
    const v = new Violations();
    v.accountId('account_id', query.accountId);
    const pageSize = v.pageSize('page_size', query.pageSize);
    v.throwIfAny();
    const scope = `ledger:${query.accountId}`;
    const before = decodePageToken(query.pageToken, scope, {
      isKey: (key): key is number => typeof key === 'number',
    });
    if (!(await this.deps.accounts.findById(query.accountId))) {
      throw accountNotFound(query.accountId);
    }
    const page = await this.deps.accounts.listLedgerEntries(query.accountId, before, pageSize + 1);
    const entries = page.slice(0, pageSize);
    const nextPageToken =
      page.length > pageSize ? encodePageToken(entries[entries.length - 1].sequence, scope) : '';
    return { entries, nextPageToken };
  }
}
