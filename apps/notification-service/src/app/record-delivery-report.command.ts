import { bounceKind, type RecipientReport } from '../domain/delivery-report';
import { bounce, complain } from '../domain/notification';
import type { BounceRecorder } from './ports/bounce-recorder.port';
import type { NotificationRepository } from './ports/notification.repository.port';
import type { VerpAddresses } from './support/verp';
import type { DeliverabilityMetrics } from './ports/deliverability-metrics.port';

export interface RecordDeliveryReportDeps {
  verp: VerpAddresses;
  bounces: BounceRecorder;
  metrics: DeliverabilityMetrics;
  notifications: Pick<NotificationRepository, 'findById' | 'update'>;
  clock: () => Date;
}

/**
 * A report from the bounce intake (recorded, the address suppressed per the bounce rules, and the
 * notification moved SENT → BOUNCED / COMPLAINED by its domain transition, with its event): a DSN mailed to a VERP return path (the address names the
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
    const notification = await this.deps.notifications.findById(notificationId);
    if (!notification) return { ok: false, reason: 'unknown-notification' };
    const recipients = [notification.recipient, ...notification.cc];
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
      const complaint = {
        recipient: input.complaint.recipient.toLowerCase(),
        feedbackType: input.complaint.feedbackType,
      };
      const { created } = await this.deps.bounces.recordComplaint({
        notificationId,
        ...complaint,
        source: 'webhook',
        at,
      });
      if (created) this.deps.metrics.complained('webhook');
      await this.deps.notifications.update(notificationId, (n) => complain(n, complaint, at));
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
    const recipient = report.recipient.toLowerCase();
    const { status, diagnostic } = report;
    // Recorded (and suppressed) first: a crash before the state change is repaired by the
    // redelivered report, as both steps are idempotent.
    const { created } = await this.deps.bounces.recordBounce({
      notificationId,
      recipient,
      kind,
      status,
      diagnostic,
      source,
      at,
    });
    if (created) this.deps.metrics.bounced(kind, source);
    // A "delayed" report is no verdict yet: the mail may still arrive.
    if (report.action === 'failed') {
      await this.deps.notifications.update(notificationId, (n) =>
        bounce(n, { recipient, status, diagnostic, permanent: kind === 'hard' }, at),
      );
    }
    return true;
  }
}
