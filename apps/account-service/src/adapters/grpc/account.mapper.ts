import { accountV1, type commonV1 } from '@trellis/contracts';
import type { Account, AccountStatus } from '../../domain/account';
import type { LedgerEntry, Transaction } from '../../domain/ledger';
import type { Money } from '../../domain/money';

// proto ⇄ domain translation, nothing else.

const STATUS_TO_PROTO: Record<AccountStatus, accountV1.AccountStatus> = {
  ACTIVE: accountV1.AccountStatus.ACCOUNT_STATUS_ACTIVE,
  FROZEN: accountV1.AccountStatus.ACCOUNT_STATUS_FROZEN,
  CLOSED: accountV1.AccountStatus.ACCOUNT_STATUS_CLOSED,
};

const TYPE_TO_PROTO = {
  DEPOSIT: accountV1.TransactionType.TRANSACTION_TYPE_DEPOSIT,
  WITHDRAWAL: accountV1.TransactionType.TRANSACTION_TYPE_WITHDRAWAL,
  TRANSFER: accountV1.TransactionType.TRANSACTION_TYPE_TRANSFER,
} as const;

const DIRECTION_TO_PROTO = {
  DEBIT: accountV1.EntryDirection.ENTRY_DIRECTION_DEBIT,
  CREDIT: accountV1.EntryDirection.ENTRY_DIRECTION_CREDIT,
} as const;

/** A status filter: '' for UNSPECIFIED (any status); unknown numbers pass through for validation. */
export function statusFromProto(status: accountV1.AccountStatus): string {
  switch (status) {
    case accountV1.AccountStatus.ACCOUNT_STATUS_UNSPECIFIED:
      return '';
    case accountV1.AccountStatus.ACCOUNT_STATUS_ACTIVE:
      return 'ACTIVE';
    case accountV1.AccountStatus.ACCOUNT_STATUS_FROZEN:
      return 'FROZEN';
    case accountV1.AccountStatus.ACCOUNT_STATUS_CLOSED:
      return 'CLOSED';
    default:
      return String(status);
  }
}

export function moneyFromProto(money: commonV1.Money | undefined): Money | undefined {
  return money ? { currency: money.currencyCode, units: money.units } : undefined;
}

function money(currencyCode: string, units: bigint): commonV1.Money {
  return { currencyCode, units };
}

export function accountToProto(a: Account): accountV1.Account {
  return accountV1.Account.fromPartial({
    id: a.id,
    ownerName: a.ownerName,
    email: a.email,
    currencyCode: a.currency,
    balance: money(a.currency, a.balance),
    overdraftLimit: money(a.currency, a.overdraftLimit),
    status: STATUS_TO_PROTO[a.status],
    version: BigInt(a.version),
    createdAt: a.createdAt,
    updatedAt: a.updatedAt,
    closedAt: a.closedAt,
  });
}

export function entryToProto(e: LedgerEntry): accountV1.LedgerEntry {
  return accountV1.LedgerEntry.fromPartial({
    id: e.id,
    transactionId: e.transactionId,
    accountId: e.accountId,
    counterpartyAccountId: e.counterpartyAccountId,
    direction: DIRECTION_TO_PROTO[e.direction],
    amount: money(e.currency, e.amount),
    balanceAfter: money(e.currency, e.balanceAfter),
    transactionType: TYPE_TO_PROTO[e.transactionType],
    reference: e.reference,
    createdAt: e.createdAt,
  });
}

export function transactionToProto(t: Transaction): accountV1.Transaction {
  return accountV1.Transaction.fromPartial({
    id: t.id,
    type: TYPE_TO_PROTO[t.type],
    amount: money(t.currency, t.amount),
    debitAccountId: t.debitAccountId,
    creditAccountId: t.creditAccountId,
    entries: t.entries.map(entryToProto),
    reference: t.reference,
    idempotencyKey: t.idempotencyKey,
    createdAt: t.createdAt,
  });
}
