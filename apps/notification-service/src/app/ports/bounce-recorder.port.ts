import type { BounceRecord, ComplaintRecord } from '../../domain/delivery-report';

/**
 * Where bounces and complaints land: the record of the report and, for a hard bounce or a
 * complaint, the suppression of the address. Idempotent per (notification, recipient, kind): a
 * DSN delivered twice records once.
 */
export interface BounceRecorder {
  /** `created` is false when the same report was on record already (a redelivery). */
  recordBounce(bounce: BounceRecord): Promise<{ created: boolean }>;
  recordComplaint(complaint: ComplaintRecord): Promise<{ created: boolean }>;
}
