import type { Logger } from '@trellis/platform/logging';
import type { AuditLog } from '../../app/ports/audit-log.port';

/** The audit trail as log lines `{"audit":"money_movement", …}`: ids and amounts only. */
export function loggerAuditLog(logger: Logger): AuditLog {
  return {
    moneyMoved(transaction) {
      logger.info(
        {
          audit: 'money_movement',
          transaction_id: transaction.id,
          transaction_type: transaction.type,
          debit_account_id: transaction.debitAccountId,
          credit_account_id: transaction.creditAccountId,
          amount_units: transaction.amount.toString(),
          currency_code: transaction.currency,
          debit_balance_after: transaction.entries[0].balanceAfter.toString(),
          credit_balance_after: transaction.entries[1].balanceAfter.toString(),
        },
        'money moved',
      );
    },
  };
}
