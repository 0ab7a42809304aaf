import { randomUUID } from 'node:crypto';
import { Status } from 'nice-grpc';
import { accountV1, serviceNames } from '@trellis/contracts';
import { bufCurl } from '@trellis/platform/testing';
import {
  Devstack,
  eur,
  failure,
  openAccount,
  startTestService,
  statement,
  uniqueDatabase,
  type TestService,
} from './support';

const stack = new Devstack();
let svc: TestService;

beforeAll(async () => {
  await stack.start();
  svc = await startTestService(stack, uniqueDatabase('account_api'), {
    ACCOUNT_MAX_AMOUNT_UNITS: '1000000',
  });
});
afterAll(async () => {
  await svc?.stop();
  await stack.stop();
});

const { AccountStatus } = accountV1;

describe('accounts', () => {
  it('opens an ACTIVE account at zero, version 1, and reads it back', async () => {
    const opened = await openAccount(svc.client, {
      ownerName: '  Ada Lovelace ',
      email: 'Ada@Example.com',
      currencyCode: 'JPY',
      overdraftLimit: { currencyCode: 'JPY', units: 5_000n },
    });
    expect(opened).toMatchObject({
      ownerName: 'Ada Lovelace',
      email: 'Ada@Example.com',
      currencyCode: 'JPY',
      balance: { currencyCode: 'JPY', units: 0n },
      overdraftLimit: { currencyCode: 'JPY', units: 5_000n },
      status: AccountStatus.ACCOUNT_STATUS_ACTIVE,
      version: 1n,
    });
    expect(opened.id).toMatch(/^acc_[0-9A-Z]{26}$/);
    expect(opened.closedAt).toBeUndefined();
    const { account } = await svc.client.getAccount({ accountId: opened.id });
    expect(account).toEqual(opened);
  });

  it('freezes, unfreezes and closes with the documented reasons', async () => {
    const { client } = svc;
    const account = await openAccount(client);
    await client.deposit({ accountId: account.id, amount: eur(10), idempotencyKey: randomUUID() });
    const frozen = (await client.freezeAccount({ accountId: account.id, reason: 'fraud check' }))
      .account!;
    expect(frozen).toMatchObject({ status: AccountStatus.ACCOUNT_STATUS_FROZEN, version: 3n });
    expect(
      await failure(
        client.withdraw({ accountId: account.id, amount: eur(1), idempotencyKey: randomUUID() }),
      ),
    ).toMatchObject({ code: Status.FAILED_PRECONDITION, reason: 'ACCOUNT_FROZEN' });
    expect(await failure(client.closeAccount({ accountId: account.id }))).toMatchObject({
      code: Status.FAILED_PRECONDITION,
      reason: 'NONZERO_BALANCE',
      metadata: { account_id: account.id },
    });
    await client.unfreezeAccount({ accountId: account.id });
    expect(await failure(client.unfreezeAccount({ accountId: account.id }))).toMatchObject({
      code: Status.FAILED_PRECONDITION,
      reason: 'ILLEGAL_TRANSITION',
      metadata: { current_state: 'ACTIVE' },
    });
    await client.withdraw({ accountId: account.id, amount: eur(10), idempotencyKey: randomUUID() });
    const closed = (await client.closeAccount({ accountId: account.id })).account!;
    expect(closed.status).toBe(AccountStatus.ACCOUNT_STATUS_CLOSED);
    expect(closed.closedAt).toBeInstanceOf(Date);
    for (const call of [
      client.deposit({ accountId: account.id, amount: eur(1), idempotencyKey: randomUUID() }),
      client.freezeAccount({ accountId: account.id }),
      client.closeAccount({ accountId: account.id }),
    ]) {
      expect(await failure(call)).toMatchObject({
        code: Status.FAILED_PRECONDITION,
        reason: 'ACCOUNT_CLOSED',
      });
    }
    // Statements stay readable after closing.
    expect((await statement(client, account.id)).map((e) => e.balanceAfter!.units)).toEqual([
      0n,
      10n,
    ]);
  });

  it('answers NOT_FOUND for well-formed unknown ids', async () => {
    const unknown = 'acc_01ARZ3NDEKTSV4RRFFQ69G5FAV';
    for (const call of [
      svc.client.getAccount({ accountId: unknown }),
      svc.client.listLedgerEntries({ accountId: unknown }),
      svc.client.freezeAccount({ accountId: unknown }),
      svc.client.deposit({ accountId: unknown, amount: eur(1), idempotencyKey: randomUUID() }),
    ]) {
      expect(await failure(call)).toMatchObject({ code: Status.NOT_FOUND });
    }
    const known = await openAccount(svc.client);
    expect(
      await failure(
        svc.client.transfer({
          fromAccountId: known.id,
          toAccountId: unknown,
          amount: eur(1),
          idempotencyKey: randomUUID(),
        }),
      ),
    ).toMatchObject({ code: Status.NOT_FOUND });
  });

  it('answers a malformed id with INVALID_ARGUMENT naming the field in every call taking one', async () => {
    const { client } = svc;
    const known = await openAccount(client);
    const bad = 'not-an-account-id';
    const move = { amount: eur(1), idempotencyKey: randomUUID() };
    const calls: Array<[() => Promise<unknown>, string]> = [
      [() => client.getAccount({ accountId: bad }), 'account_id'],
      [() => client.listLedgerEntries({ accountId: bad }), 'account_id'],
      [() => client.freezeAccount({ accountId: bad }), 'account_id'],
      [() => client.unfreezeAccount({ accountId: bad }), 'account_id'],
      [() => client.closeAccount({ accountId: bad }), 'account_id'],
      [() => client.deposit({ accountId: bad, ...move }), 'account_id'],
      [() => client.withdraw({ accountId: bad, ...move }), 'account_id'],
      [
        () => client.transfer({ fromAccountId: bad, toAccountId: known.id, ...move }),
        'from_account_id',
      ],
      [
        () => client.transfer({ fromAccountId: known.id, toAccountId: bad, ...move }),
        'to_account_id',
      ],
    ];
    for (const [call, field] of calls) {
      const err = await call().then(
        () => undefined,
        (e: unknown) => e as Error & { code: Status; details: string },
      );
      expect(err?.code).toBe(Status.INVALID_ARGUMENT);
      expect(err?.details).toBe(
        `${field}: is not a valid account id (expected 'acc_' and 26 Crockford base32 characters)`,
      );
    }
  });

  it('refuses a debit past the balance of an account with no overdraft without mentioning one', async () => {
    const { client } = svc;
    const account = await openAccount(client);
    await client.deposit({ accountId: account.id, amount: eur(50), idempotencyKey: randomUUID() });
    const err = await client
      .withdraw({ accountId: account.id, amount: eur(80), idempotencyKey: randomUUID() })
      .then(
        () => undefined,
        (e: unknown) => e as Error & { code: Status; details: string },
      );
    expect(err?.code).toBe(Status.FAILED_PRECONDITION);
    expect(err?.details).toBe(
      `account ${account.id} has insufficient funds: a debit of 80 from a balance of 50 (EUR minor units)`,
    );
  });

  it('rejects bad input with INVALID_ARGUMENT naming each field', async () => {
    const { client } = svc;
    const account = await openAccount(client);
    const cases: Array<[Promise<unknown>, string[]]> = [
      [
        client.openAccount({ ownerName: '   ', email: 'ok@example.com', currencyCode: 'EUR' }),
        ['owner_name'],
      ],
      [
        client.openAccount({
          ownerName: 'x'.repeat(201),
          email: 'ok@example.com',
          currencyCode: 'EUR',
        }),
        ['owner_name'],
      ],
      [
        client.openAccount({ ownerName: 'A', email: 'not-an-email', currencyCode: 'EUR' }),
        ['email'],
      ],
      [client.openAccount({ ownerName: 'A', email: 'a@b', currencyCode: 'EUR' }), ['email']],
      [
        client.openAccount({ ownerName: 'A', email: 'a@example.com', currencyCode: 'eur' }),
        ['currency_code'],
      ],
      [
        client.openAccount({ ownerName: 'A', email: 'a@example.com', currencyCode: 'ABC' }),
        ['currency_code'],
      ],
      [
        client.openAccount({
          ownerName: '',
          email: '',
          currencyCode: 'EUR',
          overdraftLimit: { currencyCode: 'USD', units: -1n },
        }),
        ['owner_name', 'email', 'overdraft_limit.currency_code', 'overdraft_limit.units'],
      ],
      [client.getAccount({ accountId: 'nope' }), ['account_id']],
      [client.getAccount({ accountId: '' }), ['account_id']],
      [
        client.deposit({ accountId: account.id, amount: eur(0), idempotencyKey: 'k' }),
        ['amount.units'],
      ],
      [
        client.deposit({ accountId: account.id, amount: eur(-5), idempotencyKey: 'k' }),
        ['amount.units'],
      ],
      // Above ACCOUNT_MAX_AMOUNT_UNITS (1,000,000 here), and far above it.
      [
        client.deposit({ accountId: account.id, amount: eur(1_000_001), idempotencyKey: 'k' }),
        ['amount.units'],
      ],
      [
        client.deposit({ accountId: account.id, amount: eur(2n ** 63n - 1n), idempotencyKey: 'k' }),
        ['amount.units'],
      ],
      [
        client.deposit({
          accountId: account.id,
          amount: { currencyCode: 'E1R', units: 5n },
          idempotencyKey: 'k',
        }),
        ['amount.currency_code'],
      ],
      [client.deposit({ accountId: account.id, idempotencyKey: 'k' }), ['amount']],
      [
        client.deposit({ accountId: account.id, amount: eur(5), idempotencyKey: '' }),
        ['idempotency_key'],
      ],
      [
        client.withdraw({ accountId: account.id, amount: eur(5), idempotencyKey: 'k'.repeat(129) }),
        ['idempotency_key'],
      ],
      [
        client.withdraw({
          accountId: account.id,
          amount: eur(5),
          idempotencyKey: 'k',
          reference: 'r'.repeat(257),
        }),
        ['reference'],
      ],
      [
        client.transfer({
          fromAccountId: account.id,
          toAccountId: account.id,
          amount: eur(5),
          idempotencyKey: 'k',
        }),
        ['to_account_id'],
      ],
      [
        client.transfer({
          fromAccountId: 'x',
          toAccountId: '',
          amount: eur(5),
          idempotencyKey: 'k',
        }),
        ['from_account_id', 'to_account_id'],
      ],
      [client.listAccounts({ pageSize: -1 }), ['page_size']],
      // A filter no account can match is refused, not answered with an empty page.
      [client.listAccounts({ email: 'not-an-email' }), ['email']],
      [client.listLedgerEntries({ accountId: account.id, pageSize: -1 }), ['page_size']],
      [client.freezeAccount({ accountId: account.id, reason: 'r'.repeat(257) }), ['reason']],
    ];
    for (const [call, fields] of cases) {
      expect(await failure(call)).toMatchObject({ code: Status.INVALID_ARGUMENT, fields });
    }
    // Nothing moved.
    expect(await statement(client, account.id)).toEqual([]);
  });

  it('lists accounts newest first with filters and AIP-158 pages', async () => {
    const { client } = svc;
    const email = `shared-${randomUUID().slice(0, 8)}@example.com`;
    const mine = [];
    for (let i = 0; i < 5; i++) mine.push(await openAccount(client, { email }));
    await client.freezeAccount({ accountId: mine[1].id });
    await client.freezeAccount({ accountId: mine[3].id });

    const seen: string[] = [];
    let pageToken = '';
    do {
      const page = await client.listAccounts({
        pageSize: 2,
        pageToken,
        email: email.toUpperCase(),
      });
      expect(page.accounts.length).toBeLessThanOrEqual(2);
      seen.push(...page.accounts.map((a) => a.id));
      pageToken = page.nextPageToken;
    } while (pageToken !== '');
    expect(seen).toEqual(mine.map((a) => a.id).reverse());

    const frozen = await client.listAccounts({
      email,
      status: AccountStatus.ACCOUNT_STATUS_FROZEN,
    });
    expect(frozen.accounts.map((a) => a.id)).toEqual([mine[3].id, mine[1].id]);
    expect(frozen.nextPageToken).toBe('');

    // A token is bound to its filters; a forged one is rejected.
    const first = await client.listAccounts({ pageSize: 1, email });
    for (const call of [
      client.listAccounts({ pageSize: 1, pageToken: first.nextPageToken }),
      client.listAccounts({ pageToken: 'garbage!' }),
      client.listAccounts({ pageToken: Buffer.from('{"k":1}').toString('base64url') }),
    ]) {
      expect(await failure(call)).toMatchObject({
        code: Status.INVALID_ARGUMENT,
        reason: 'INVALID_PAGE_TOKEN',
        fields: ['page_token'],
      });
    }
    // Sizes above the maximum are coerced, not rejected.
    expect((await client.listAccounts({ pageSize: 5_000, email })).accounts).toHaveLength(5);
  });

  it('pages a statement newest first with running balances', async () => {
    const { client } = svc;
    const account = await openAccount(client);
    for (let i = 1; i <= 7; i++) {
      await client.deposit({ accountId: account.id, amount: eur(i), idempotencyKey: randomUUID() });
    }
    const pages: accountV1.LedgerEntry[][] = [];
    let pageToken = '';
    do {
      const page = await client.listLedgerEntries({
        accountId: account.id,
        pageSize: 3,
        pageToken,
      });
      pages.push(page.entries);
      pageToken = page.nextPageToken;
    } while (pageToken !== '');
    expect(pages.map((p) => p.length)).toEqual([3, 3, 1]);
    const entries = pages.flat();
    expect(entries.map((e) => e.amount!.units)).toEqual([7n, 6n, 5n, 4n, 3n, 2n, 1n]);
    expect(entries.map((e) => e.balanceAfter!.units)).toEqual([28n, 21n, 15n, 10n, 6n, 3n, 1n]);
    for (const e of entries) {
      expect(e).toMatchObject({
        accountId: account.id,
        counterpartyAccountId: 'external:EUR',
        direction: accountV1.EntryDirection.ENTRY_DIRECTION_CREDIT,
        transactionType: accountV1.TransactionType.TRANSACTION_TYPE_DEPOSIT,
      });
    }
    const other = await openAccount(client);
    const firstPage = await client.listLedgerEntries({ accountId: account.id, pageSize: 3 });
    expect(
      await failure(
        client.listLedgerEntries({ accountId: other.id, pageToken: firstPage.nextPageToken }),
      ),
    ).toMatchObject({ code: Status.INVALID_ARGUMENT, reason: 'INVALID_PAGE_TOKEN' });
  });

  it('is callable with buf curl through server reflection alone', async () => {
    const base = `http://${svc.service.grpcAddress}`;
    const listed = await bufCurl(['--list-services', base]);
    expect(listed.stdout).toContain(serviceNames.account);

    const opened = await bufCurl([
      '--data',
      JSON.stringify({
        ownerName: 'Grace Hopper',
        email: 'grace@example.com',
        currencyCode: 'USD',
      }),
      `${base}/${serviceNames.account}/OpenAccount`,
    ]);
    expect(opened.exitCode).toBe(0);
    const { account } = JSON.parse(opened.stdout) as {
      account: { id: string; status: string; balance: { units?: string; currencyCode: string } };
    };
    expect(account.status).toBe('ACCOUNT_STATUS_ACTIVE');

    const deposited = await bufCurl([
      '--data',
      JSON.stringify({
        accountId: account.id,
        amount: { currencyCode: 'USD', units: '1250' },
        idempotencyKey: 'buf-curl-1',
      }),
      `${base}/${serviceNames.account}/Deposit`,
    ]);
    expect(deposited.exitCode).toBe(0);

    const got = await bufCurl([
      '--data',
      JSON.stringify({ accountId: account.id }),
      `${base}/${serviceNames.account}/GetAccount`,
    ]);
    expect(got.exitCode).toBe(0);
    expect(JSON.parse(got.stdout)).toMatchObject({
      account: { id: account.id, balance: { currencyCode: 'USD', units: '1250' }, version: '2' },
    });

    const invalid = await bufCurl([
      '--data',
      JSON.stringify({ accountId: 'bogus' }),
      `${base}/${serviceNames.account}/GetAccount`,
    ]);
    expect(invalid.exitCode).not.toBe(0);
    expect(invalid.stderr).toMatch(/invalid_argument/i);
    expect(invalid.stderr).toContain('account_id');
  });
});
