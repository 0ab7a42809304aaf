export type SuppressionReason =
  | 'UNSUBSCRIBED'
  | 'BOUNCED'
  | 'COMPLAINED'
  | 'MANUAL'
  /** A permanent (5.x.x) failure, at send time or in a DSN; the comment holds the reply. */
  | 'HARD_BOUNCE'
  /** SOFT_BOUNCE_LIMIT transient failures within SOFT_BOUNCE_WINDOW_MS. */
  | 'SOFT_BOUNCE';

/** A suppressed address: nothing is ever sent to it. */
export interface Suppression {
  email: string;
  reason: SuppressionReason;
  comment: string;
  createdAt: Date;
}
