/**
 * The Kafka headers of an event message besides its trace context: how to decode the value (a
 * protobuf EventEnvelope) and which event it is, so tools and consumers can route or skip a
 * message without decoding it.
 */
export function eventHeaders(event: {
  eventType: string;
  eventId: string;
}): Record<string, string> {
  return {
    'content-type': 'application/x-protobuf',
    'event-type': event.eventType,
    'event-id': event.eventId,
  };
}
