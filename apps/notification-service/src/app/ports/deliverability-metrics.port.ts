import type { BounceRecord, ComplaintRecord } from '../../domain/delivery-report';
import type { UnsubscribeSource } from '../../domain/list-suppression';

/** Where an unsubscribe came from: the recipient's link/page/mailto, or the Unsubscribe RPC. */
export type UnsubscribeOrigin = UnsubscribeSource | 'api';

/**
 * Counters of what receivers and recipients tell us about our mail. Called once per newly recorded
 * event (not for a report or opt-out that was already on record), so a redelivered DSN or a second
 * click does not inflate them.
 */
export interface DeliverabilityMetrics {
  bounced(kind: BounceRecord['kind'], source: BounceRecord['source']): void;
  complained(source: ComplaintRecord['source']): void;
  unsubscribed(source: UnsubscribeOrigin): void;
}
