import type { BounceRecord, ComplaintRecord } from '../../domain/delivery-report';

/**
 * Where bounces and complaints land: the record of the report and, for a hard bounce or a
 * complaint, the suppression of the address. Idempotent per (notification, recipient, kind): a
 * DSN delivered twice records once.
 */
export interface BounceRecorder {
  recordBounce(bounce: BounceRecord): Promise<void>;
  recordComplaint(complaint: ComplaintRecord): Promise<void>;
}
