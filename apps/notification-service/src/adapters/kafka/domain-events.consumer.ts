import type { Kafka, Producer } from 'kafkajs';
import type { Registry } from 'prom-client';
import { topics } from '@trellis/contracts';
import type { Logger } from '@trellis/platform/logging';
import { startEventConsumer, type EventConsumer } from '@trellis/platform/messaging';
import { activeTraceId } from '@trellis/platform/telemetry';
import type { HandleDomainEvent } from '../../app/handle-domain-event.command';
import type { SyncCampaignFromJob } from '../../app/sync-campaign-from-job.command';
import { campaignJobEnd, eventMails } from './event-mails';

/** Poison (undecodable) account/job events are copied here, with an `error` header. */
export const DOMAIN_EVENTS_DLQ = 'notification.domain-events.dlq.v1';

/**
 * Event-driven mail from `account.events.v1` and `job.events.v1`: one consumer group, an inbox keyed
 * by event id (so a redelivered event queues nothing), poison messages to DOMAIN_EVENTS_DLQ.
 * Campaign jobs that die or are cancelled outside the worker are mirrored on their campaign.
 */
export function startDomainEventsConsumer(
  useCases: { handleDomainEvent: HandleDomainEvent; syncCampaignFromJob: SyncCampaignFromJob },
  settings: {
    kafka: Kafka;
    producer: Producer;
    logger: Logger;
    metrics: Registry;
    /** Where JobDeadLettered alerts go. */
    opsAlertEmail: string;
  },
): Promise<EventConsumer> {
  const logger = settings.logger.child({ component: 'domain-events' });
  return startEventConsumer({
    kafka: settings.kafka,
    producer: settings.producer,
    metrics: settings.metrics,
    logger,
    groupId: 'notification-service.domain-events',
    topics: [topics.accountEvents, topics.jobEvents],
    deadLetterTopic: DOMAIN_EVENTS_DLQ,
    async handle({ event, envelope }) {
      const outcome = await useCases.handleDomainEvent.execute({
        eventId: envelope.eventId,
        eventType: event.eventType,
        mails: eventMails(event, settings.opsAlertEmail),
        traceId: activeTraceId(),
      });
      if (outcome !== 'ignored') {
        logger.debug(
          { event_id: envelope.eventId, event_type: event.eventType, outcome },
          'event mail',
        );
      }
      const jobEnd = campaignJobEnd(event);
      if (jobEnd) await useCases.syncCampaignFromJob.execute(jobEnd);
    },
  });
}
