import {
  type Account,
  type ExternalAccount,
  assertCanMove,
  credit,
  debit,
  postExternal,
} from './account';
import type { AccountEvent } from './account-events';
import { accountNotFound } from './errors';
import { newEntryId, newTransactionId } from './ids';
import { type PostingSide, postTransaction, type Transaction } from './ledger';
import type { Money } from './money';

/**
 * The accounts a money movement reads, as the movements applied before it left them: customer
 * accounts by id (a missing one is unknown) and, for deposits and withdrawals, the external
 * (cash) account of the currency.
 */
export interface Book {
  readonly accounts: ReadonlyMap<string, Account>;
  readonly external?: ExternalAccount;
}

/**
 * What one money movement comes to: the customer accounts it changed (new states), the external
 * account's new state when it posted to it, the transaction (two balanced ledger entries) and the
 * event.
 */
export interface PostingTransition {
  accounts: Account[];
  external?: ExternalAccount;
  transaction: Transaction;
  events: AccountEvent[];
}

/** What every movement carries; `transactionId`/`entryIds` name what it writes (see postingIds). */
export interface PostingArgs {
  amount: Money;
  reference: string;
  idempotencyKey: string;
  transactionId: string;
  entryIds: [string, string];
}

/** Fresh ids for one movement's transaction and its two entries. */
export function postingIds(): Pick<PostingArgs, 'transactionId' | 'entryIds'> {
  return { transactionId: newTransactionId(), entryIds: [newEntryId(), newEntryId()] };
}

/** Credits an ACTIVE account from the external account of the amount's currency. */
export function deposit(
  book: Book,
  args: PostingArgs & { accountId: string },
  now: Date,
): PostingTransition {
  return cashMovement('DEPOSIT', book, args, now);
}

/** Debits an ACTIVE account, within its overdraft, to the external account of its currency. */
export function withdraw(
  book: Book,
  args: PostingArgs & { accountId: string },
  now: Date,
): PostingTransition {
  return cashMovement('WITHDRAWAL', book, args, now);
}

/** A deposit or withdrawal: one customer account against the external account. */
function cashMovement(
  type: 'DEPOSIT' | 'WITHDRAWAL',
  book: Book,
  args: PostingArgs & { accountId: string },
  now: Date,
): PostingTransition {
  const { currency, units } = args.amount;
  const account = customer(book, args.accountId, currency);
  if (type === 'DEPOSIT') {
    const credited = credit(account, units, now);
    const external = postExternal(externalOf(book), 'DEBIT', units);
    const transaction = post(type, args, side(external), side(credited), now);
    const event: AccountEvent = { type: 'FundsDeposited', account: credited, transaction };
    return { accounts: [credited], external, transaction, events: [event] };
  }
  const debited = debit(account, units, now);
  const external = postExternal(externalOf(book), 'CREDIT', units);
  const transaction = post(type, args, side(debited), side(external), now);
  const event: AccountEvent = { type: 'FundsWithdrawn', account: debited, transaction };
  return { accounts: [debited], external, transaction, events: [event] };
}

/** Moves money between two ACTIVE accounts of the amount's currency. */
export function transfer(
  book: Book,
  args: PostingArgs & { fromAccountId: string; toAccountId: string },
  now: Date,
): PostingTransition {
  const [from, to] = [known(book, args.fromAccountId), known(book, args.toAccountId)];
  assertCanMove(from, args.amount.currency);
  assertCanMove(to, args.amount.currency);
  const debited = debit(from, args.amount.units, now);
  const credited = credit(to, args.amount.units, now);
  const transaction = post('TRANSFER', args, side(debited), side(credited), now);
  return {
    accounts: [debited, credited],
    transaction,
    events: [{ type: 'TransferCompleted', from: debited, to: credited, transaction }],
  };
}

function customer(book: Book, id: string, currency: string): Account {
  const account = known(book, id);
  assertCanMove(account, currency);
  return account;
}

function known(book: Book, id: string): Account {
  const account = book.accounts.get(id);
  if (!account) throw accountNotFound(id);
  return account;
}

function externalOf(book: Book): ExternalAccount {
  // The repository reads it for every deposit and withdrawal; without it this is a bug, not a rule.
  if (!book.external) throw new Error('a deposit or withdrawal needs the external account');
  return book.external;
}

function side(account: Account | ExternalAccount): PostingSide {
  return { accountId: account.id, balanceAfter: account.balance, sequence: account.version };
}

function post(
  type: Transaction['type'],
  args: PostingArgs,
  debitSide: PostingSide,
  creditSide: PostingSide,
  now: Date,
): Transaction {
  return postTransaction({
    id: args.transactionId,
    entryIds: args.entryIds,
    type,
    currency: args.amount.currency,
    amount: args.amount.units,
    debit: debitSide,
    credit: creditSide,
    reference: args.reference,
    idempotencyKey: args.idempotencyKey,
    now,
  });
}
