import type { Kafka, Producer } from 'kafkajs';
import type { Registry } from 'prom-client';
import { topics } from '@trellis/contracts';
import type { Logger } from '@trellis/platform/logging';
import { startEventConsumer, type EventConsumer } from '@trellis/platform/messaging';
import { activeTraceId } from '@trellis/platform/telemetry';
import { handleDomainEvent, type EventMailDeps } from '../../app/handle-domain-event.command';
import { syncCampaignFromJob } from '../../app/sync-campaign-from-job.command';

/** Poison (undecodable) account/job events are copied here, with an `error` header. */
export const DOMAIN_EVENTS_DLQ = 'notification.domain-events.dlq.v1';

/**
 * Event-driven mail from `account.events.v1` and `job.events.v1`: one consumer group, an inbox keyed
 * by event id (so a redelivered event queues nothing), poison messages to DOMAIN_EVENTS_DLQ.
 * Campaign jobs that die or are cancelled outside the worker are mirrored on their campaign.
 */
export function startDomainEventsConsumer(
  deps: EventMailDeps,
  settings: { kafka: Kafka; producer: Producer; logger: Logger; metrics: Registry },
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
      const outcome = await handleDomainEvent(deps, envelope.eventId, event, activeTraceId());
      if (outcome !== 'ignored') {
        logger.debug(
          { event_id: envelope.eventId, event_type: event.eventType, outcome },
          'event mail',
        );
      }
      await syncCampaignFromJob(deps, event);
    },
  });
}
