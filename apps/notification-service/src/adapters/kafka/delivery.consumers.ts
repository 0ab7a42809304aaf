import type { Kafka, Producer } from 'kafkajs';
import type { Registry } from 'prom-client';
import {
  encodeEventEnvelope,
  topics,
  type commonV1,
  type notificationV1,
} from '@trellis/contracts';
import type { Logger } from '@trellis/platform/logging';
import { eventHeaders, startEventConsumer, type EventConsumer } from '@trellis/platform/messaging';
import { activeTraceId } from '@trellis/platform/telemetry';
import type {
  DeliverEmail,
  DeliverEmailInput,
  DeliveryResult,
} from '../../app/deliver-email.command';
import type { DeliveryContent } from '../../domain/notification';

export interface DeliveryConsumerSettings {
  kafka: Kafka;
  producer: Producer;
  logger: Logger;
  metrics: Registry;
  /** Messages of one fetched batch handled at once. */
  concurrency: number;
  /** The retry consumer holds a not-yet-due message at most this long, then re-queues it. */
  retryMaxHoldMs: number;
  onResult?(result: DeliveryResult): void;
}

/**
 * The delivery pipeline's two consumers:
 * - `notification.email.v1`: first attempts, sent at once.
 * - `notification.email.retry.v1`: later attempts. A message carries `not_before`; the consumer
 *   waits until it is due when that is at most `retryMaxHoldMs` away, otherwise it re-publishes the
 *   same envelope to the retry topic and moves on (so a long backoff never stalls the partition
 *   past the consumer session timeout). Backoffs grow with the attempt, so a partition's head is
 *   the earliest due in practice.
 * Both commit offsets only after the attempt is recorded; the notification's state guard makes a
 * redelivered message a no-op.
 */
export async function startDeliveryConsumers(
  deliverEmail: DeliverEmail,
  settings: DeliveryConsumerSettings,
): Promise<EventConsumer[]> {
  const common = {
    kafka: settings.kafka,
    producer: settings.producer,
    logger: settings.logger.child({ component: 'delivery' }),
    metrics: settings.metrics,
    deadLetterTopic: topics.emailDlq,
    concurrency: settings.concurrency,
  };
  const record = (result: DeliveryResult) => settings.onResult?.(result);
  const first = await startEventConsumer({
    ...common,
    groupId: 'notification-service.delivery',
    topics: [topics.email],
    async handle({ event }) {
      if (event.eventType !== 'trellis.notification.v1.EmailRequested') return;
      record(await deliverEmail.execute(deliveryInput(event.payload)));
    },
  });
  const retry = await startEventConsumer({
    ...common,
    groupId: 'notification-service.delivery-retry',
    topics: [topics.emailRetry],
    async handle({ event, envelope }) {
      if (event.eventType !== 'trellis.notification.v1.EmailRequested') return;
      const dueAt = event.payload.notBefore?.getTime() ?? 0;
      const wait = dueAt - Date.now();
      if (wait > settings.retryMaxHoldMs) {
        await requeue(settings.producer, envelope);
        return;
      }
      if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
      record(await deliverEmail.execute(deliveryInput(event.payload)));
    },
  });
  return [first, retry];
}

async function requeue(producer: Producer, envelope: commonV1.EventEnvelope): Promise<void> {
  await producer.send({
    topic: topics.emailRetry,
    messages: [
      {
        key: envelope.aggregateId,
        value: encodeEventEnvelope(envelope),
        headers: eventHeaders(envelope),
      },
    ],
  });
}

/** The use case's input from the work item. */
function deliveryInput(request: notificationV1.EmailRequested): DeliverEmailInput {
  return {
    notificationId: request.notificationId,
    attempt: request.attempt,
    content: deliveryContentOf(request),
    activeTraceId: activeTraceId(),
  };
}

/** The content an EmailRequested carries, with its per-recipient variables. */
function deliveryContentOf(request: notificationV1.EmailRequested): DeliveryContent | undefined {
  const contextVariables = (request.contextVariables ?? {}) as Record<string, unknown>;
  if (request.template) {
    return {
      content: {
        kind: 'template',
        templateId: request.template.templateId,
        templateVersion: request.template.templateVersion,
        variables: (request.template.variables ?? {}) as Record<string, unknown>,
      },
      contextVariables,
    };
  }
  if (request.inline)
    return { content: { kind: 'inline', inline: request.inline }, contextVariables };
  return undefined;
}
