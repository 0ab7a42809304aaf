export { createKafka, type KafkaSettings } from './create-kafka';
export { toOutboxMessage } from './to-outbox-message';
export { eventHeaders } from './event-headers';
export { OutboxRelay, relayOwnerId, type OutboxRelaySettings } from './outbox-relay';
export {
  startEventConsumer,
  type ConsumedEvent,
  type EventConsumer,
  type EventConsumerSettings,
} from './event-consumer';
export { startPublishSpan, withProcessSpan } from './messaging-spans';
export { CONSUMER_LAG_METRIC, trackConsumerLag } from './consumer-lag';
