import {
  accountClosed,
  accountFrozen,
  currencyMismatch,
  illegalTransition,
  insufficientFunds,
  nonzeroBalance,
} from './errors';
import { INT64_MAX } from './money';
import { ValidationError } from '@trellis/platform/errors';
import type { AccountEvent } from './account-events';

export type AccountStatus = 'ACTIVE' | 'FROZEN' | 'CLOSED';

/** A customer account. Immutable: every change returns a new value with version + 1. */
export interface Account {
  readonly id: string;
  readonly ownerName: string;
  readonly email: string;
  readonly currency: string;
  /** Minor units; never below -overdraftLimit. */
  readonly balance: bigint;
  /** >= 0. */
  readonly overdraftLimit: bigint;
  readonly status: AccountStatus;
  /** Starts at 1; +1 on every change of balance or status. */
  readonly version: number;
  readonly createdAt: Date;
  readonly updatedAt: Date;
  readonly closedAt?: Date;
}

export function openAccount(input: {
  id: string;
  ownerName: string;
  email: string;
  currency: string;
  overdraftLimit: bigint;
  now: Date;
}): Account {
  return {
    id: input.id,
    ownerName: input.ownerName.trim(),
    email: input.email,
    currency: input.currency,
    balance: 0n,
    overdraftLimit: input.overdraftLimit,
    status: 'ACTIVE',
    version: 1,
    createdAt: input.now,
    updatedAt: input.now,
  };
}

/** Money may move in or out only while ACTIVE, in the account's currency. */
export function assertCanMove(account: Account, currency: string): void {
  if (account.status === 'CLOSED') throw accountClosed(account.id);
  if (account.status === 'FROZEN') throw accountFrozen(account.id);
  if (account.currency !== currency) {
    throw currencyMismatch(account.id, account.currency, currency);
  }
}

export function credit(account: Account, amount: bigint, now: Date): Account {
  assertCanMove(account, account.currency);
  const balance = account.balance + amount;
  if (balance > INT64_MAX) {
    throw ValidationError.field('amount.units', 'would overflow the account balance');
  }
  return { ...account, balance, version: account.version + 1, updatedAt: now };
}

export function debit(account: Account, amount: bigint, now: Date): Account {
  assertCanMove(account, account.currency);
  const balance = account.balance - amount;
  if (balance < -account.overdraftLimit) throw insufficientFunds(account, amount);
  return { ...account, balance, version: account.version + 1, updatedAt: now };
}

export function freeze(account: Account, now: Date): Account {
  if (account.status === 'CLOSED') throw accountClosed(account.id);
  if (account.status !== 'ACTIVE') throw illegalTransition(account.id, account.status, 'freeze');
  return { ...account, status: 'FROZEN', version: account.version + 1, updatedAt: now };
}

export function unfreeze(account: Account, now: Date): Account {
  if (account.status === 'CLOSED') throw accountClosed(account.id);
  if (account.status !== 'FROZEN') {
    throw illegalTransition(account.id, account.status, 'unfreeze');
  }
  return { ...account, status: 'ACTIVE', version: account.version + 1, updatedAt: now };
}

export function close(account: Account, now: Date): Account {
  if (account.status === 'CLOSED') throw accountClosed(account.id);
  if (account.balance !== 0n) throw nonzeroBalance(account.id);
  return {
    ...account,
    status: 'CLOSED',
    version: account.version + 1,
    updatedAt: now,
    closedAt: now,
  };
}

/** What a change of one account comes to: its new state and the events it publishes. */
export interface AccountTransition {
  account: Account;
  events: AccountEvent[];
}

/** A new ACTIVE account with a zero balance, announced by AccountOpened. */
export function open(input: Parameters<typeof openAccount>[0]): AccountTransition {
  const account = openAccount(input);
  return { account, events: [{ type: 'AccountOpened', account }] };
}

const statusChanges = {
  AccountFrozen: freeze,
  AccountUnfrozen: unfreeze,
  AccountClosed: close,
} as const;

/** The status changes of Freeze/Unfreeze/CloseAccount, each named by the event it publishes. */
export type StatusChange = keyof typeof statusChanges;

/** Freeze, unfreeze or close `account` (see freeze/unfreeze/close for the rules), with its event. */
export function changeStatus(
  account: Account,
  change: StatusChange,
  reason: string,
  now: Date,
): AccountTransition {
  const changed = statusChanges[change](account, now);
  return { account: changed, events: [{ type: change, account: changed, reason, at: now }] };
}

/**
 * The per-currency external (cash) account: the other side of deposits and withdrawals. It has
 * no limits; its balance is minus the money that came in from outside.
 */
export interface ExternalAccount {
  readonly id: string;
  readonly currency: string;
  readonly balance: bigint;
  readonly version: number;
}

export function postExternal(
  account: ExternalAccount,
  direction: 'DEBIT' | 'CREDIT',
  amount: bigint,
): ExternalAccount {
  const balance = direction === 'DEBIT' ? account.balance - amount : account.balance + amount;
  return { ...account, balance, version: account.version + 1 };
}
