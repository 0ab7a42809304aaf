export type TransactionType = 'DEPOSIT' | 'WITHDRAWAL' | 'TRANSFER';
export type EntryDirection = 'DEBIT' | 'CREDIT';

/** One posting of a transaction to one account. */
export interface LedgerEntry {
  readonly id: string;
  readonly transactionId: string;
  readonly accountId: string;
  readonly counterpartyAccountId: string;
  readonly direction: EntryDirection;
  /** > 0; the direction gives the sign. */
  readonly amount: bigint;
  readonly currency: string;
  /** The account's balance right after this entry. */
  readonly balanceAfter: bigint;
  /** The account's version after this entry: orders an account's statement. */
  readonly sequence: number;
  readonly transactionType: TransactionType;
  readonly reference: string;
  readonly createdAt: Date;
}

/** A money movement: exactly one DEBIT and one CREDIT of the same amount (sums to zero). */
export interface Transaction {
  readonly id: string;
  readonly type: TransactionType;
  readonly currency: string;
  readonly amount: bigint;
  readonly debitAccountId: string;
  readonly creditAccountId: string;
  /** The DEBIT entry first, then the CREDIT entry. */
  readonly entries: readonly [LedgerEntry, LedgerEntry];
  readonly reference: string;
  readonly idempotencyKey: string;
  readonly createdAt: Date;
}

export interface PostingSide {
  accountId: string;
  balanceAfter: bigint;
  sequence: number;
}

/** Builds the two balanced entries of a transaction. */
export function postTransaction(input: {
  id: string;
  entryIds: [string, string];
  type: TransactionType;
  currency: string;
  amount: bigint;
  debit: PostingSide;
  credit: PostingSide;
  reference: string;
  idempotencyKey: string;
  now: Date;
}): Transaction {
  if (input.amount <= 0n) throw new Error('a transaction moves a positive amount');
  const entry = (
    id: string,
    side: PostingSide,
    other: PostingSide,
    direction: EntryDirection,
  ): LedgerEntry => ({
    id,
    transactionId: input.id,
    accountId: side.accountId,
    counterpartyAccountId: other.accountId,
    direction,
    amount: input.amount,
    currency: input.currency,
    balanceAfter: side.balanceAfter,
    sequence: side.sequence,
    transactionType: input.type,
    reference: input.reference,
    createdAt: input.now,
  });
  return {
    id: input.id,
    type: input.type,
    currency: input.currency,
    amount: input.amount,
    debitAccountId: input.debit.accountId,
    creditAccountId: input.credit.accountId,
    entries: [
      entry(input.entryIds[0], input.debit, input.credit, 'DEBIT'),
      entry(input.entryIds[1], input.credit, input.debit, 'CREDIT'),
    ],
    reference: input.reference,
    idempotencyKey: input.idempotencyKey,
    createdAt: input.now,
  };
}

/** The signed effect of an entry on its account's balance. */
export function signedAmount(entry: Pick<LedgerEntry, 'direction' | 'amount'>): bigint {
  return entry.direction === 'CREDIT' ? entry.amount : -entry.amount;
}
