import { assertCanMove, debit, postExternal } from '../domain/account';
import { accountNotFound } from '../domain/errors';
import { externalAccountId, newEntryId } from '../domain/ids';
import { postTransaction } from '../domain/ledger';
import type { Money } from '../domain/money';
import { Violations } from '../domain/validation';
import {
  type MoneyMovementDeps,
  type MovementResult,
  requestHash,
  runMoneyMovement,
} from './money-movement';

export interface WithdrawFundsCommand {
  accountId: string;
  amount: Money | undefined;
  idempotencyKey: string;
  reference: string;
}

/** Debits an account to the external (cash) account of its currency, within its overdraft. */
export class WithdrawFunds {
  constructor(private readonly deps: MoneyMovementDeps) {}

  async execute(cmd: WithdrawFundsCommand): Promise<MovementResult> {
    const v = new Violations();
    v.accountId('account_id', cmd.accountId);
    v.amount('amount', cmd.amount, this.deps.maxAmountUnits);
    v.idempotencyKey('idempotency_key', cmd.idempotencyKey);
    v.text('reference', cmd.reference);
    v.throwIfAny();
    const amount = cmd.amount!;
    const externalId = externalAccountId(amount.currency);

    return runMoneyMovement(this.deps, {
      idempotencyKey: cmd.idempotencyKey,
      requestHash: requestHash('Withdraw', [
        cmd.accountId,
        amount.currency,
        amount.units,
        cmd.reference,
      ]),
      accountIds: [cmd.accountId, externalId],
      async apply(uow, now, transactionId) {
        const account = await uow.getAccount(cmd.accountId);
        if (!account) throw accountNotFound(cmd.accountId);
        assertCanMove(account, amount.currency);
        const debited = debit(account, amount.units, now);
        const external = postExternal(
          await uow.getExternalAccount(amount.currency),
          'CREDIT',
          amount.units,
        );
        const transaction = postTransaction({
          id: transactionId,
          entryIds: [newEntryId(), newEntryId()],
          type: 'WITHDRAWAL',
          currency: amount.currency,
          amount: amount.units,
          debit: {
            accountId: account.id,
            balanceAfter: debited.balance,
            sequence: debited.version,
          },
          credit: {
            accountId: external.id,
            balanceAfter: external.balance,
            sequence: external.version,
          },
          reference: cmd.reference,
          idempotencyKey: cmd.idempotencyKey,
          now,
        });
        await uow.updateAccounts([debited]);
        await uow.updateExternalAccount(external);
        await uow.insertLedgerEntries(transaction.entries);
        return {
          transaction,
          events: [{ type: 'FundsWithdrawn', account: debited, transaction }],
        };
      },
    });
  }
}
