import { randomUUID } from 'node:crypto';
import {
  encodeEventEnvelope,
  type EventPayload,
  type EventType,
  packEvent,
} from '@trellis/contracts';
import type { OutboxMessage } from '@trellis/platform/mongo';

/** Wraps a domain event in its envelope, keyed by aggregate, ready for Outbox.append. */
export function toOutboxMessage<K extends EventType>(
  topic: string,
  eventType: K,
  payload: EventPayload<K>,
  aggregate: { id: string; type: string },
  occurredAt = new Date(),
): OutboxMessage {
  const eventId = randomUUID();
  const envelope = packEvent(eventType, payload, {
    eventId,
    occurredAt,
    aggregateId: aggregate.id,
    aggregateType: aggregate.type,
  });
  return {
    eventId,
    eventType,
    aggregateId: aggregate.id,
    topic,
    key: aggregate.id,
    value: encodeEventEnvelope(envelope),
  };
}
