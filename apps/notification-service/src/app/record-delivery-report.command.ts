import { bounceKind, type RecipientReport } from '../domain/delivery-report';
import type { BounceRecorder } from './ports/bounce-recorder.port';
import type { NotificationRecipients } from './ports/notification-recipients.port';
import type { VerpAddresses } from './support/verp';

export interface RecordDeliveryReportDeps {
  verp: VerpAddresses;
  bounces: BounceRecorder;
  notifications: NotificationRecipients;
  clock: () => Date;
}

/**
 * A report from the bounce intake: a DSN mailed to a VERP return path (the address names the
 * notification and is signed), or a provider's webhook event (the request is signed, the event
 * names the notification). Only the notification's own recipients may be named: the return path
 * is visible to whoever received the mail, and must not let them suppress anyone else.
 */
export type DeliveryReportInput =
  | { via: 'dsn'; returnPath: string; reports: RecipientReport[] }
  | { via: 'webhook'; notificationId: string; bounce: RecipientReport }
  | {
      via: 'webhook';
      notificationId: string;
      complaint: { recipient: string; feedbackType: string };
    };

export type DeliveryReportResult =
  | { ok: true; notificationId: string; bounces: number; complaints: number }
  | { ok: false; reason: 'unknown-return-path' | 'unknown-notification' | 'not-a-recipient' };

export class RecordDeliveryReport {
  constructor(private readonly deps: RecordDeliveryReportDeps) {}

  /** Whether `address` is a return path this service issued (the SMTP intake's RCPT TO check). */
  knowsReturnPath(address: string): boolean {
    return this.deps.verp.decode(address) !== undefined;
  }

  async execute(input: DeliveryReportInput): Promise<DeliveryReportResult> {
    const at = this.deps.clock();
    const notificationId =
      input.via === 'dsn' ? this.deps.verp.decode(input.returnPath) : input.notificationId;
    if (!notificationId) return { ok: false, reason: 'unknown-return-path' };
    const recipients = await this.deps.notifications.recipientsOf(notificationId);
    if (!recipients) return { ok: false, reason: 'unknown-notification' };
    const ours = (address: string) => recipients.includes(address.toLowerCase());
    if (input.via === 'dsn') {
      let bounces = 0;
      for (const report of input.reports.filter((r) => ours(r.recipient))) {
        if (await this.bounce(notificationId, report, 'dsn', at)) bounces++;
      }
      return { ok: true, notificationId, bounces, complaints: 0 };
    }
    if ('complaint' in input) {
      if (!ours(input.complaint.recipient)) return { ok: false, reason: 'not-a-recipient' };
      await this.deps.bounces.recordComplaint({
        notificationId,
        recipient: input.complaint.recipient.toLowerCase(),
        feedbackType: input.complaint.feedbackType,
        source: 'webhook',
        at,
      });
      return { ok: true, notificationId, bounces: 0, complaints: 1 };
    }
    if (!ours(input.bounce.recipient)) return { ok: false, reason: 'not-a-recipient' };
    const bounced = await this.bounce(notificationId, input.bounce, 'webhook', at);
    return { ok: true, notificationId, bounces: bounced ? 1 : 0, complaints: 0 };
  }

  private async bounce(
    notificationId: string,
    report: RecipientReport,
    source: 'dsn' | 'webhook',
    at: Date,
  ): Promise<boolean> {
    const kind = bounceKind(report);
    if (!kind) return false;
    await this.deps.bounces.recordBounce({
      notificationId,
      recipient: report.recipient.toLowerCase(),
      kind,
      status: report.status,
      diagnostic: report.diagnostic,
      source,
      at,
    });
    return true;
  }
}
