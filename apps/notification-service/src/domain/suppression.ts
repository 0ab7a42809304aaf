export type SuppressionReason = 'UNSUBSCRIBED' | 'BOUNCED' | 'COMPLAINED' | 'MANUAL';

/** A suppressed address: nothing is ever sent to it. */
export interface Suppression {
  email: string;
  reason: SuppressionReason;
  comment: string;
  createdAt: Date;
}
