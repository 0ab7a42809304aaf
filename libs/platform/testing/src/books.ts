/**
 * The two AccountService calls the check needs, structurally (any AccountService client has them),
 * so this library does not depend on the generated contracts.
 */
export interface AccountReader {
  listAccounts(request: { pageSize: number; pageToken: string }): Promise<{
    accounts: Array<{ id: string; balance?: { units: bigint } }>;
    nextPageToken: string;
  }>;
  listLedgerEntries(request: { accountId: string; pageSize: number; pageToken: string }): Promise<{
    entries: Array<{ direction: number; amount?: { units: bigint } }>;
    nextPageToken: string;
  }>;
}

/**
 * Balances = ledgers: reads every account and its whole statement, and returns how many accounts
 * were checked and those whose entries (credits minus debits) do not sum to their balance.
 * `credit` is `accountV1.EntryDirection.ENTRY_DIRECTION_CREDIT`.
 */
export async function checkBooks(
  client: AccountReader,
  credit: number,
): Promise<{
  checked: number;
  unbalanced: Array<{ id: string; balance: bigint; ledger: bigint }>;
}> {
  const unbalanced: Array<{ id: string; balance: bigint; ledger: bigint }> = [];
  let checked = 0;
  let pageToken = '';
  do {
    const page = await client.listAccounts({ pageSize: 100, pageToken });
    for (const account of page.accounts) {
      let ledger = 0n;
      let entryToken = '';
      do {
        const entries = await client.listLedgerEntries({
          accountId: account.id,
          pageSize: 500,
          pageToken: entryToken,
        });
        for (const e of entries.entries) {
          const units = e.amount?.units ?? 0n;
          ledger += e.direction === credit ? units : -units;
        }
        entryToken = entries.nextPageToken;
      } while (entryToken !== '');
      const balance = account.balance?.units ?? 0n;
      if (ledger !== balance) unbalanced.push({ id: account.id, balance, ledger });
      checked++;
    }
    pageToken = page.nextPageToken;
  } while (pageToken !== '');
  return { checked, unbalanced };
}
