import { notificationV1 } from '@trellis/contracts';
import type { Campaign, CampaignProgress, CampaignState } from '../../domain/campaign';
import type { Contact, PostalAddress } from '../../domain/contact';
import type {
  Notification,
  NotificationSource,
  NotificationState,
} from '../../domain/notification';
import type { Suppression, SuppressionReason } from '../../domain/suppression';
import type { Template } from '../../domain/template';

const N = notificationV1;

export function toTemplate(t: Template): notificationV1.Template {
  return N.Template.fromPartial({
    id: t.id,
    version: t.version,
    displayName: t.displayName,
    description: t.description,
    subject: t.subject,
    textBody: t.textBody,
    htmlBody: t.htmlBody,
    createdAt: t.createdAt,
    marketing: t.marketing,
    category: t.category,
  });
}

export function toContact(c: Contact & { optedOutCategories?: string[] }): notificationV1.Contact {
  return N.Contact.fromPartial({
    id: c.id,
    email: c.email,
    name: c.name,
    address: c.address,
    attributes: c.attributes,
    createdAt: c.createdAt,
    optedOutCategories: c.optedOutCategories ?? [],
  });
}

export function fromPostalAddress(
  a: notificationV1.PostalAddress | undefined,
): PostalAddress | undefined {
  if (!a) return undefined;
  return {
    lines: a.lines,
    locality: a.locality,
    region: a.region,
    postalCode: a.postalCode,
    countryCode: a.countryCode,
  };
}

const REASONS: Record<SuppressionReason, notificationV1.SuppressionReason> = {
  UNSUBSCRIBED: N.SuppressionReason.SUPPRESSION_REASON_UNSUBSCRIBED,
  BOUNCED: N.SuppressionReason.SUPPRESSION_REASON_BOUNCED,
  COMPLAINED: N.SuppressionReason.SUPPRESSION_REASON_COMPLAINED,
  MANUAL: N.SuppressionReason.SUPPRESSION_REASON_MANUAL,
  HARD_BOUNCE: N.SuppressionReason.SUPPRESSION_REASON_HARD_BOUNCE,
  SOFT_BOUNCE: N.SuppressionReason.SUPPRESSION_REASON_SOFT_BOUNCE,
};

export function fromSuppressionReason(reason: notificationV1.SuppressionReason): SuppressionReason {
  const found = (Object.entries(REASONS) as Array<[SuppressionReason, number]>).find(
    ([, v]) => v === reason,
  );
  return found ? found[0] : 'UNSUBSCRIBED';
}

export function toSuppression(s: Suppression): notificationV1.Suppression {
  return N.Suppression.fromPartial({
    email: s.email,
    reason: REASONS[s.reason],
    comment: s.comment,
    createdAt: s.createdAt,
  });
}

const STATES: Record<NotificationState, notificationV1.NotificationState> = {
  QUEUED: N.NotificationState.NOTIFICATION_STATE_QUEUED,
  SENDING: N.NotificationState.NOTIFICATION_STATE_SENDING,
  SENT: N.NotificationState.NOTIFICATION_STATE_SENT,
  FAILED: N.NotificationState.NOTIFICATION_STATE_FAILED,
  SUPPRESSED: N.NotificationState.NOTIFICATION_STATE_SUPPRESSED,
  BOUNCED: N.NotificationState.NOTIFICATION_STATE_BOUNCED,
  COMPLAINED: N.NotificationState.NOTIFICATION_STATE_COMPLAINED,
};

export function fromNotificationState(
  state: notificationV1.NotificationState,
): NotificationState | undefined {
  const found = (Object.entries(STATES) as Array<[NotificationState, number]>).find(
    ([, v]) => v === state,
  );
  return found?.[0];
}

const SOURCES: Record<NotificationSource, notificationV1.NotificationSource> = {
  API: N.NotificationSource.NOTIFICATION_SOURCE_API,
  EVENT: N.NotificationSource.NOTIFICATION_SOURCE_EVENT,
  CAMPAIGN: N.NotificationSource.NOTIFICATION_SOURCE_CAMPAIGN,
};

export function toNotification(n: Notification): notificationV1.Notification {
  return N.Notification.fromPartial({
    id: n.id,
    recipient: n.recipient,
    cc: n.cc,
    templateId: n.templateId,
    templateVersion: n.templateVersion,
    subject: n.subject,
    state: STATES[n.state],
    attempts: n.attempts,
    lastError: n.lastError,
    smtpResponse: n.smtpResponse,
    messageId: n.messageId,
    campaignId: n.campaignId,
    source: SOURCES[n.source],
    sourceRef: n.sourceRef,
    traceId: n.traceId,
    createdAt: n.createdAt,
    updatedAt: n.updatedAt,
    sentAt: n.sentAt,
    nextAttemptAt: n.state === 'QUEUED' ? n.nextAttemptAt : undefined,
    smtpMessageId: n.smtpMessageId,
    category: n.category,
  });
}

const CAMPAIGN_STATES: Record<CampaignState, notificationV1.CampaignState> = {
  PENDING: N.CampaignState.CAMPAIGN_STATE_PENDING,
  RUNNING: N.CampaignState.CAMPAIGN_STATE_RUNNING,
  SUCCEEDED: N.CampaignState.CAMPAIGN_STATE_SUCCEEDED,
  FAILED: N.CampaignState.CAMPAIGN_STATE_FAILED,
  CANCELLED: N.CampaignState.CAMPAIGN_STATE_CANCELLED,
};

export function toCampaign(c: Campaign, progress?: CampaignProgress): notificationV1.Campaign {
  return N.Campaign.fromPartial({
    id: c.id,
    templateId: c.templateId,
    templateVersion: c.templateVersion,
    state: CAMPAIGN_STATES[c.state],
    progress: progress
      ? {
          total: BigInt(progress.total),
          queued: BigInt(progress.queued),
          sent: BigInt(progress.sent),
          failed: BigInt(progress.failed),
          suppressed: BigInt(progress.suppressed),
        }
      : { total: BigInt(c.total) },
    jobId: c.jobId,
    contactIds: c.recipients.kind === 'contacts' ? { ids: c.recipients.contactIds } : undefined,
    emailDomain: c.recipients.kind === 'domain' ? c.recipients.domain : undefined,
    cc: c.cc,
    variables: c.variables,
    createdAt: c.createdAt,
    updatedAt: c.updatedAt,
    finishedAt: c.finishedAt,
    category: c.category,
  });
}
