import type { Collection, Db } from 'mongodb';
import { isDuplicateKeyError } from '@trellis/platform/mongo';
import type { BounceRecord, ComplaintRecord } from '../../domain/delivery-report';
import type { SuppressionReason } from '../../domain/suppression';
import type { BounceRecorder } from '../../app/ports/bounce-recorder.port';

type ReportKind = 'hard' | 'soft' | 'complaint';

interface DeliveryReportDoc {
  _id: { notification_id: string; recipient: string; kind: ReportKind };
  recipient: string;
  status: string;
  detail: string;
  source: string;
  at: Date;
}

interface SuppressionDoc {
  _id: string;
  reason: SuppressionReason;
  comment: string;
  created_at: Date;
}

export interface BounceRecorderSettings {
  /** Soft bounces of one address within `softBounceWindowMs` that suppress it; 0 = never. */
  softBounceLimit: number;
  softBounceWindowMs: number;
}

/**
 * Records bounces (SMTP replies at send time, DSNs, webhook events) and complaints in `delivery_reports` (one per notification, recipient and kind:
 * a DSN delivered twice counts once) and suppresses the address in `suppressions` on a hard
 * bounce, a complaint, or the N-th soft bounce in the window. Two idempotent inserts rather than
 * a transaction: a crash between them is repaired by the redelivered report, which retries both.
 * Marking the notification BOUNCED / COMPLAINED is the use case's, through the notification
 * repository.
 */
export class MongoBounceRecorder implements BounceRecorder {
  private readonly reports: Collection<DeliveryReportDoc>;
  private readonly suppressions: Collection<SuppressionDoc>;

  constructor(
    db: Db,
    private readonly settings: BounceRecorderSettings,
  ) {
    this.reports = db.collection<DeliveryReportDoc>('delivery_reports');
    this.suppressions = db.collection<SuppressionDoc>('suppressions');
  }

  async ensureIndexes(): Promise<void> {
    await this.reports.createIndexes([{ key: { recipient: 1, at: 1 }, name: 'recipient_at' }]);
  }

  async recordBounce(b: BounceRecord): Promise<{ created: boolean }> {
    const created = await this.insertReport({
      _id: { notification_id: b.notificationId, recipient: b.recipient, kind: b.kind },
      recipient: b.recipient,
      status: b.status,
      detail: b.diagnostic,
      source: b.source,
      at: b.at,
    });
    const comment = `${b.status} ${b.diagnostic}`.trim();
    if (b.kind === 'hard') {
      await this.suppress(b.recipient, 'HARD_BOUNCE', comment, b.at);
      return { created };
    }
    const { softBounceLimit, softBounceWindowMs } = this.settings;
    if (softBounceLimit <= 0) return { created };
    const recent = await this.reports.countDocuments({
      recipient: b.recipient,
      '_id.kind': 'soft',
      at: { $gte: new Date(b.at.getTime() - softBounceWindowMs) },
    });
    if (recent >= softBounceLimit) {
      await this.suppress(b.recipient, 'SOFT_BOUNCE', `${recent} soft bounces: ${comment}`, b.at);
    }
    return { created };
  }

  async recordComplaint(c: ComplaintRecord): Promise<{ created: boolean }> {
    const created = await this.insertReport({
      _id: { notification_id: c.notificationId, recipient: c.recipient, kind: 'complaint' },
      recipient: c.recipient,
      status: '',
      detail: c.feedbackType,
      source: c.source,
      at: c.at,
    });
    await this.suppress(c.recipient, 'COMPLAINED', `complaint: ${c.feedbackType}`, c.at);
    return { created };
  }

  /** False when the same report was recorded before (a redelivered DSN or event). */
  private async insertReport(doc: DeliveryReportDoc): Promise<boolean> {
    try {
      await this.reports.insertOne(doc);
      return true;
    } catch (err) {
      if (!isDuplicateKeyError(err)) throw err;
      return false;
    }
  }

  /** Inserts unless the address is already suppressed (an earlier reason stays). */
  private async suppress(email: string, reason: SuppressionReason, comment: string, at: Date) {
    try {
      await this.suppressions.insertOne({
        _id: email,
        reason,
        comment: comment.slice(0, 500),
        created_at: at,
      });
    } catch (err) {
      if (!isDuplicateKeyError(err)) throw err;
    }
  }
}
