import type { Consumer, KafkaMessage, Kafka, Producer } from 'kafkajs';
import { Counter, type Registry } from 'prom-client';
import {
  type commonV1,
  decodeEventEnvelope,
  type DecodedEvent,
  UnknownEventTypeError,
  unpackEvent,
} from '@trellis/contracts';
import type { Logger } from '@trellis/platform/logging';
import { trackConsumerLag } from './consumer-lag';
import { abortableKafka } from './create-kafka';
import { withProcessSpan } from './messaging-spans';

type EventEnvelope = commonV1.EventEnvelope;

export interface ConsumedEvent {
  event: DecodedEvent;
  envelope: EventEnvelope;
  topic: string;
  partition: number;
  offset: string;
}

export interface EventConsumerSettings {
  kafka: Kafka;
  groupId: string;
  topics: string[];
  logger: Logger;
  /** Must be idempotent (e.g. through an Inbox): events are delivered at least once. */
  handle(consumed: ConsumedEvent): Promise<void>;
  /** Undecodable messages go here with an `error` header, and are logged, never retried. */
  deadLetterTopic?: string;
  /** Needed with deadLetterTopic. */
  producer?: Producer;
  metrics?: Registry;
  /** In-process attempts before the error goes to kafkajs, which restarts the consumer. */
  maxAttempts?: number;
  /**
   * Messages of one fetched batch handled at once (default 1: one at a time, in order). Above 1,
   * messages of a partition run in chunks of this size and the offset advances past a chunk once
   * all of it succeeded; order within a chunk is not kept, so only for handlers that do not
   * depend on order (each message's effect guarded by its own idempotency/state check).
   */
  concurrency?: number;
  fromBeginning?: boolean;
  sessionTimeoutMs?: number;
  heartbeatIntervalMs?: number;
  maxWaitTimeInMs?: number;
}

export interface EventConsumer {
  consumer: Consumer;
  stop(): Promise<void>;
}

/**
 * A consumer-group member that decodes EventEnvelopes, runs `handle` inside a span continuing the
 * producer's trace, commits offsets only after `handle` succeeds, retries failures with backoff,
 * and sends poison messages (undecodable) to a dead-letter topic instead of blocking the partition.
 * Event types this build does not know are skipped with a log line (forward compatibility).
 */
export async function startEventConsumer(settings: EventConsumerSettings): Promise<EventConsumer> {
  const { logger } = settings;
  // One counter per registry, shared by every consumer of the service.
  const outcomes = settings.metrics
    ? ((settings.metrics.getSingleMetric('messaging_consumed_total') as Counter | undefined) ??
      new Counter({
        name: 'messaging_consumed_total',
        help: 'Kafka messages consumed by outcome',
        labelNames: ['consumer_group', 'topic', 'outcome'],
        registers: [settings.metrics],
      }))
    : undefined;
  // Its own client, so that stop() can cut short the Fetch it has parked on the broker.
  const abortable = abortableKafka(settings.kafka);
  const consumer = (abortable?.kafka ?? settings.kafka).consumer({
    groupId: settings.groupId,
    sessionTimeout: settings.sessionTimeoutMs ?? 30_000,
    heartbeatInterval: settings.heartbeatIntervalMs ?? 3_000,
    // An empty fetch waits this long (a message ends it at once); kafkajs heartbeats between
    // fetches, so it also paces an idle member's heartbeats. 5 s is kafkajs's default: an idle
    // consumer fetches every 5 s instead of every second. kafkajs's disconnect waits for the open
    // fetch: a client not made by createKafka, whose fetch stop() cannot abort, keeps 1 s.
    maxWaitTimeInMs: settings.maxWaitTimeInMs ?? (abortable ? 5_000 : 1_000),
    retry: { retries: 10, initialRetryTime: 200 },
  });
  await consumer.connect();
  await consumer.subscribe({
    topics: settings.topics,
    fromBeginning: settings.fromBeginning ?? true,
  });

  const count = (topic: string, outcome: string) =>
    outcomes?.inc({ consumer_group: settings.groupId, topic, outcome });

  interface OneMessage {
    topic: string;
    partition: number;
    message: KafkaMessage;
  }

  async function deadLetter(payload: OneMessage, reason: string): Promise<void> {
    const { topic, partition, message } = payload;
    logger.error(
      { topic, partition, offset: message.offset, reason },
      'poison message sent to the dead-letter topic',
    );
    count(topic, 'dead_lettered');
    if (!settings.deadLetterTopic || !settings.producer) return;
    await settings.producer.send({
      topic: settings.deadLetterTopic,
      messages: [
        {
          key: message.key,
          value: message.value,
          headers: {
            ...message.headers,
            error: reason,
            'original-topic': topic,
            'original-partition': String(partition),
            'original-offset': message.offset,
          },
        },
      ],
    });
  }

  async function processMessage(payload: OneMessage): Promise<void> {
    const { topic, partition, message } = payload;
    let envelope: EventEnvelope;
    let event: DecodedEvent;
    try {
      envelope = decodeEventEnvelope(message.value ?? Buffer.alloc(0));
      event = unpackEvent(envelope);
    } catch (err) {
      if (err instanceof UnknownEventTypeError) {
        logger.info(
          { topic, event_type: err.eventType },
          'skipping an event type this build does not handle',
        );
        count(topic, 'skipped');
        return;
      }
      await deadLetter(payload, `undecodable: ${(err as Error).message}`);
      return;
    }
    const maxAttempts = settings.maxAttempts ?? 5;
    for (let attempt = 1; ; attempt++) {
      try {
        await withProcessSpan(topic, partition, message.offset, message.headers, () =>
          settings.handle({ event, envelope, topic, partition, offset: message.offset }),
        );
        count(topic, 'handled');
        return;
      } catch (err) {
        const fields = {
          err,
          topic,
          partition,
          offset: message.offset,
          event_id: envelope.eventId,
          attempt,
        };
        if (attempt >= maxAttempts) {
          logger.error(fields, 'event handler keeps failing; handing over to the consumer restart');
          count(topic, 'failed');
          throw err;
        }
        logger.warn(fields, 'event handler failed; retrying');
        await new Promise((resolve) => setTimeout(resolve, Math.min(100 * 2 ** attempt, 5_000)));
      }
    }
  }

  const concurrency = Math.max(1, settings.concurrency ?? 1);
  if (concurrency === 1) {
    await consumer.run({ eachMessage: (payload) => processMessage(payload) });
  } else {
    await consumer.run({
      // Partitions are independent: run their batches side by side too.
      partitionsConsumedConcurrently: Math.min(concurrency, 16),
      eachBatchAutoResolve: false,
      eachBatch: async ({ batch, resolveOffset, heartbeat, isRunning, isStale }) => {
        const { topic, partition, messages } = batch;
        for (let i = 0; i < messages.length; i += concurrency) {
          if (!isRunning() || isStale()) return;
          const chunk = messages.slice(i, i + concurrency);
          await Promise.all(chunk.map((message) => processMessage({ topic, partition, message })));
          resolveOffset(chunk[chunk.length - 1].offset);
          await heartbeat();
        }
      },
    });
  }

  const untrackLag = settings.metrics
    ? trackConsumerLag(settings.metrics, settings.kafka, settings.groupId, settings.topics, logger)
    : undefined;
  return {
    consumer,
    async stop() {
      await untrackLag?.();
      // disconnect() first tells the fetch loop to stop, then waits for its Fetch: abort that.
      const disconnected = consumer.disconnect();
      abortable?.aborter.abort();
      await disconnected;
    },
  };
}
