import { notificationV1, topics } from '@trellis/contracts';
import type { EmailContent, Notification } from '../domain/notification';
import type { OutgoingEvent } from './unit-of-work.port';

/** The delivery work item for a notification, on `topic` (email, retry or DLQ). */
export function emailRequested(
  notification: Pick<Notification, 'id' | 'recipient' | 'cc' | 'campaignId'>,
  content: EmailContent,
  contextVariables: Record<string, unknown>,
  options: { topic?: string; attempt?: number; notBefore?: Date; lastError?: string } = {},
): OutgoingEvent {
  return {
    topic: options.topic ?? topics.email,
    eventType: 'trellis.notification.v1.EmailRequested',
    aggregateId: notification.id,
    aggregateType: 'notification',
    payload: notificationV1.EmailRequested.fromPartial({
      notificationId: notification.id,
      recipient: notification.recipient,
      cc: notification.cc,
      template:
        content.kind === 'template'
          ? {
              templateId: content.templateId,
              templateVersion: content.templateVersion,
              variables: content.variables,
            }
          : undefined,
      inline: content.kind === 'inline' ? content.inline : undefined,
      attempt: options.attempt ?? 1,
      notBefore: options.notBefore,
      lastError: options.lastError ?? '',
      campaignId: notification.campaignId,
      contextVariables,
    }),
  };
}

/** The EmailContent carried by an EmailRequested. */
export function contentOf(event: notificationV1.EmailRequested): EmailContent | undefined {
  if (event.template) {
    return {
      kind: 'template',
      templateId: event.template.templateId,
      templateVersion: event.template.templateVersion,
      variables: (event.template.variables ?? {}) as Record<string, unknown>,
    };
  }
  if (event.inline) return { kind: 'inline', inline: event.inline };
  return undefined;
}

export function notificationSuppressed(n: Notification, at: Date): OutgoingEvent {
  return {
    topic: topics.notificationEvents,
    eventType: 'trellis.notification.v1.NotificationSuppressed',
    aggregateId: n.id,
    aggregateType: 'notification',
    payload: notificationV1.NotificationSuppressed.fromPartial({
      notificationId: n.id,
      recipient: n.recipient,
      campaignId: n.campaignId,
      suppressedAt: at,
    }),
  };
}

export function notificationSent(n: Notification, at: Date): OutgoingEvent {
  return {
    topic: topics.notificationEvents,
    eventType: 'trellis.notification.v1.NotificationSent',
    aggregateId: n.id,
    aggregateType: 'notification',
    payload: notificationV1.NotificationSent.fromPartial({
      notificationId: n.id,
      recipient: n.recipient,
      campaignId: n.campaignId,
      attempts: n.attempts,
      messageId: n.messageId,
      smtpResponse: n.smtpResponse,
      smtpMessageId: n.smtpMessageId,
      sentAt: at,
    }),
  };
}

export function notificationFailed(
  n: Notification,
  error: string,
  permanent: boolean,
  at: Date,
): OutgoingEvent {
  return {
    topic: topics.notificationEvents,
    eventType: 'trellis.notification.v1.NotificationFailed',
    aggregateId: n.id,
    aggregateType: 'notification',
    payload: notificationV1.NotificationFailed.fromPartial({
      notificationId: n.id,
      recipient: n.recipient,
      campaignId: n.campaignId,
      attempts: n.attempts,
      error,
      permanent,
      failedAt: at,
    }),
  };
}
