import { assertCanMove, credit, debit } from '../domain/account';
import { accountNotFound } from '../domain/errors';
import { newEntryId } from '../domain/ids';
import { postTransaction } from '../domain/ledger';
import type { Money } from '../domain/money';
import { Violations } from '../domain/validation';
import {
  type MoneyMovementDeps,
  type MovementResult,
  requestHash,
  runMoneyMovement,
} from './money-movement';

export interface TransferFundsCommand {
  fromAccountId: string;
  toAccountId: string;
  amount: Money | undefined;
  idempotencyKey: string;
  reference: string;
}

/** Moves money between two ACTIVE accounts of one currency, atomically. */
export class TransferFunds {
  constructor(private readonly deps: MoneyMovementDeps) {}

  async execute(cmd: TransferFundsCommand): Promise<MovementResult> {
    const v = new Violations();
    v.accountId('from_account_id', cmd.fromAccountId);
    v.accountId('to_account_id', cmd.toAccountId);
    if (cmd.fromAccountId !== '' && cmd.fromAccountId === cmd.toAccountId) {
      v.add('to_account_id', 'must differ from from_account_id');
    }
    v.amount('amount', cmd.amount, this.deps.maxAmountUnits);
    v.idempotencyKey('idempotency_key', cmd.idempotencyKey);
    v.text('reference', cmd.reference);
    v.throwIfAny();
    const amount = cmd.amount!;

    return runMoneyMovement(this.deps, {
      idempotencyKey: cmd.idempotencyKey,
      requestHash: requestHash('Transfer', [
        cmd.fromAccountId,
        cmd.toAccountId,
        amount.currency,
        amount.units,
        cmd.reference,
      ]),
      accountIds: [cmd.fromAccountId, cmd.toAccountId],
      async apply(uow, now, transactionId) {
        const accounts = await uow.getAccounts([cmd.fromAccountId, cmd.toAccountId]);
        const from = accounts.get(cmd.fromAccountId);
        if (!from) throw accountNotFound(cmd.fromAccountId);
        const to = accounts.get(cmd.toAccountId);
        if (!to) throw accountNotFound(cmd.toAccountId);
        assertCanMove(from, amount.currency);
        assertCanMove(to, amount.currency);
        const debited = debit(from, amount.units, now);
        const credited = credit(to, amount.units, now);
        const transaction = postTransaction({
          id: transactionId,
          entryIds: [newEntryId(), newEntryId()],
          type: 'TRANSFER',
          currency: amount.currency,
          amount: amount.units,
          debit: { accountId: from.id, balanceAfter: debited.balance, sequence: debited.version },
          credit: { accountId: to.id, balanceAfter: credited.balance, sequence: credited.version },
          reference: cmd.reference,
          idempotencyKey: cmd.idempotencyKey,
          now,
        });
        await uow.updateAccounts([
          { account: debited, previousVersion: from.version },
          { account: credited, previousVersion: to.version },
        ]);
        await uow.insertLedgerEntries(transaction.entries);
        return {
          transaction,
          events: [{ type: 'TransferCompleted', from: debited, to: credited, transaction }],
        };
      },
    });
  }
}
