import type { Account, AccountStatus, ExternalAccount } from '../../domain/account';
import type {
  EntryDirection,
  LedgerEntry,
  Transaction,
  TransactionType,
} from '../../domain/ledger';

// Stored shapes (snake_case) and their mapping to the domain. Money is Int64 (bigint with
// useBigInt64); `toBigInt` also accepts the narrower numbers a server may hand back.

export interface AccountDocument {
  _id: string;
  owner_name: string;
  email: string;
  /** Lower-cased email for the case-insensitive filter. */
  email_lower: string;
  currency_code: string;
  balance: bigint;
  overdraft_limit: bigint;
  status: AccountStatus;
  version: number;
  created_at: Date;
  updated_at: Date;
  closed_at: Date | null;
}

export interface ExternalAccountDocument {
  _id: string;
  currency_code: string;
  balance: bigint;
  version: number;
}

export interface LedgerEntryDocument {
  _id: string;
  transaction_id: string;
  account_id: string;
  counterparty_account_id: string;
  direction: EntryDirection;
  amount: bigint;
  currency_code: string;
  balance_after: bigint;
  sequence: number;
  transaction_type: TransactionType;
  reference: string;
  created_at: Date;
}

/** An idempotency key: the request it was first used with and the transaction it made. */
export interface IdempotencyDocument {
  _id: string;
  request_hash: string;
  transaction_id: string;
  created_at: Date;
  /** TTL index: the key is forgotten after this. */
  expires_at: Date;
}

export function toBigInt(value: unknown): bigint {
  if (typeof value === 'bigint') return value;
  if (typeof value === 'number' && Number.isSafeInteger(value)) return BigInt(value);
  if (typeof value === 'string' && /^-?\d+$/.test(value)) return BigInt(value);
  if (typeof value === 'object' && value !== null && 'toBigInt' in value) {
    return (value as { toBigInt(): bigint }).toBigInt();
  }
  throw new Error(`not an integer amount: ${String(value)}`);
}

export function accountToDocument(a: Account): AccountDocument {
  return {
    _id: a.id,
    owner_name: a.ownerName,
    email: a.email,
    email_lower: a.email.toLowerCase(),
    currency_code: a.currency,
    balance: a.balance,
    overdraft_limit: a.overdraftLimit,
    status: a.status,
    version: a.version,
    created_at: a.createdAt,
    updated_at: a.updatedAt,
    closed_at: a.closedAt ?? null,
  };
}

export function accountFromDocument(d: AccountDocument): Account {
  return {
    id: d._id,
    ownerName: d.owner_name,
    email: d.email,
    currency: d.currency_code,
    balance: toBigInt(d.balance),
    overdraftLimit: toBigInt(d.overdraft_limit),
    status: d.status,
    version: Number(d.version),
    createdAt: d.created_at,
    updatedAt: d.updated_at,
    ...(d.closed_at ? { closedAt: d.closed_at } : {}),
  };
}

export function externalFromDocument(d: ExternalAccountDocument): ExternalAccount {
  return {
    id: d._id,
    currency: d.currency_code,
    balance: toBigInt(d.balance),
    version: Number(d.version),
  };
}

export function entryToDocument(e: LedgerEntry): LedgerEntryDocument {
  return {
    _id: e.id,
    transaction_id: e.transactionId,
    account_id: e.accountId,
    counterparty_account_id: e.counterpartyAccountId,
    direction: e.direction,
    amount: e.amount,
    currency_code: e.currency,
    balance_after: e.balanceAfter,
    sequence: e.sequence,
    transaction_type: e.transactionType,
    reference: e.reference,
    created_at: e.createdAt,
  };
}

export function entryFromDocument(
  d: Omit<LedgerEntryDocument, 'amount' | 'balance_after'> & {
    amount: unknown;
    balance_after: unknown;
  },
): LedgerEntry {
  return {
    id: d._id,
    transactionId: d.transaction_id,
    accountId: d.account_id,
    counterpartyAccountId: d.counterparty_account_id,
    direction: d.direction,
    amount: toBigInt(d.amount),
    currency: d.currency_code,
    balanceAfter: toBigInt(d.balance_after),
    sequence: Number(d.sequence),
    transactionType: d.transaction_type,
    reference: d.reference,
    createdAt: d.created_at,
  };
}

/** A transaction rebuilt from its two entries (any order). */
export function transactionFromEntries(
  entries: LedgerEntry[],
  idempotencyKey: string,
): Transaction | undefined {
  const debit = entries.find((e) => e.direction === 'DEBIT');
  const credit = entries.find((e) => e.direction === 'CREDIT');
  if (!debit || !credit) return undefined;
  return {
    id: debit.transactionId,
    type: debit.transactionType,
    currency: debit.currency,
    amount: debit.amount,
    debitAccountId: debit.accountId,
    creditAccountId: credit.accountId,
    entries: [debit, credit],
    reference: debit.reference,
    idempotencyKey,
    createdAt: debit.createdAt,
  };
}
