/**
 * One recipient's entry of a delivery status notification (RFC 3464 §2.3) or of a provider event.
 * `status` is the enhanced status code (RFC 3463), e.g. `5.1.1`.
 */
export interface RecipientReport {
  recipient: string;
  action: 'failed' | 'delayed' | 'delivered' | 'relayed' | 'expanded';
  status: string;
  diagnostic: string;
}

export type BounceKind = 'hard' | 'soft';

/**
 * What a report means for the address: a failed 5.x.x is a hard bounce (suppress now), a 4.x.x
 * (failed after the remote's retries, or delayed) a soft one (counted; N in a window suppress);
 * delivered/relayed/expanded are no bounce at all.
 */
export function bounceKind(report: RecipientReport): BounceKind | undefined {
  if (report.action === 'failed') return report.status.startsWith('5.') ? 'hard' : 'soft';
  if (report.action === 'delayed') return 'soft';
  return undefined;
}

/** A bounce of one notification's mail to one recipient. */
export interface BounceRecord {
  notificationId: string;
  recipient: string;
  kind: BounceKind;
  status: string;
  diagnostic: string;
  /** Where it was learnt: an asynchronous DSN or a provider's webhook event. */
  source: 'dsn' | 'webhook';
  at: Date;
}

/** A recipient marked one notification's mail as spam (an ARF report or a provider event). */
export interface ComplaintRecord {
  notificationId: string;
  recipient: string;
  feedbackType: string;
  source: 'arf' | 'webhook';
  at: Date;
}
