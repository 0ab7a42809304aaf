import type { Transaction } from '../../domain/ledger';

/** The audit trail of money movements. */
export interface AuditLog {
  /** One entry per applied movement (not for a replay): ids and amounts only. */
  moneyMoved(transaction: Transaction): void;
}
