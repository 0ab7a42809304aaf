import { notificationV1, topics } from '@trellis/contracts';
import { toOutboxMessage } from '@trellis/platform/messaging';
import type { OutboxMessage } from '@trellis/platform/mongo';
import type { NotificationEvent } from '../../domain/notification';

const aggregate = (id: string) => ({ id, type: 'notification' });

/**
 * The trellis.notification.v1 outbox messages of domain events. `trace` is set when a group commit
 * writes the events of many callers in one transaction; unset: the context active at append.
 */
export function outboxMessagesOf(
  events: NotificationEvent[],
  trace?: Record<string, string>,
): OutboxMessage[] {
  return events.map((event) => ({ ...outboxMessageOf(event), headers: trace }));
}

function outboxMessageOf(event: NotificationEvent): OutboxMessage {
  const n = event.notification;
  switch (event.type) {
    case 'EmailRequested': {
      const { content } = event;
      const topic = { first: topics.email, retry: topics.emailRetry, dead: topics.emailDlq };
      return toOutboxMessage(
        topic[event.route],
        'trellis.notification.v1.EmailRequested',
        notificationV1.EmailRequested.fromPartial({
          notificationId: n.id,
          recipient: n.recipient,
          cc: n.cc,
          template:
            content.kind === 'template'
              ? {
                  templateId: content.templateId,
                  templateVersion: content.templateVersion,
                  variables: content.variables,
                }
              : undefined,
          inline: content.kind === 'inline' ? content.inline : undefined,
          attempt: event.attempt,
          notBefore: event.notBefore,
          lastError: event.lastError,
          campaignId: n.campaignId,
          contextVariables: event.contextVariables,
        }),
        aggregate(n.id),
      );
    }
    case 'NotificationSuppressed':
      return toOutboxMessage(
        topics.notificationEvents,
        'trellis.notification.v1.NotificationSuppressed',
        notificationV1.NotificationSuppressed.fromPartial({
          notificationId: n.id,
          recipient: n.recipient,
          campaignId: n.campaignId,
          suppressedAt: event.at,
        }),
        aggregate(n.id),
      );
    case 'NotificationSent':
      return toOutboxMessage(
        topics.notificationEvents,
        'trellis.notification.v1.NotificationSent',
        notificationV1.NotificationSent.fromPartial({
          notificationId: n.id,
          recipient: n.recipient,
          campaignId: n.campaignId,
          attempts: n.attempts,
          messageId: n.messageId,
          smtpResponse: n.smtpResponse,
          smtpMessageId: n.smtpMessageId,
          sentAt: event.at,
        }),
        aggregate(n.id),
      );
    case 'NotificationFailed':
      return toOutboxMessage(
        topics.notificationEvents,
        'trellis.notification.v1.NotificationFailed',
        notificationV1.NotificationFailed.fromPartial({
          notificationId: n.id,
          recipient: n.recipient,
          campaignId: n.campaignId,
          attempts: n.attempts,
          error: event.error,
          permanent: event.permanent,
          failedAt: event.at,
        }),
        aggregate(n.id),
      );
    case 'NotificationBounced':
      return toOutboxMessage(
        topics.notificationEvents,
        'trellis.notification.v1.NotificationBounced',
        notificationV1.NotificationBounced.fromPartial({
          notificationId: n.id,
          recipient: n.recipient,
          campaignId: n.campaignId,
          status: event.status,
          diagnostic: event.diagnostic,
          permanent: event.permanent,
          bouncedAt: event.at,
        }),
        aggregate(n.id),
      );
    case 'NotificationComplained':
      return toOutboxMessage(
        topics.notificationEvents,
        'trellis.notification.v1.NotificationComplained',
        notificationV1.NotificationComplained.fromPartial({
          notificationId: n.id,
          recipient: n.recipient,
          campaignId: n.campaignId,
          feedbackType: event.feedbackType,
          complainedAt: event.at,
        }),
        aggregate(n.id),
      );
  }
}
