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
  /** Where it was learnt: the SMTP reply at send time, an asynchronous DSN or a provider's webhook event. */
  source: 'smtp' | 'dsn' | 'webhook';
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

/**
 * The enhanced status code (RFC 3463) of an SMTP reply, e.g. "550 5.1.1 no such user" → "5.1.1";
 * a reply without one gets the class of its basic code ("550 no" → "5.0.0").
 */
export function enhancedStatusOf(reply: string, code: number): string {
  const match = /\b([245])\.(\d{1,3})\.(\d{1,3})\b/.exec(reply);
  return match ? `${match[1]}.${match[2]}.${match[3]}` : `${Math.floor(code / 100)}.0.0`;
}
