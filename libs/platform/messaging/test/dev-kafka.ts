import { randomUUID } from 'node:crypto';
import type { Kafka, Producer } from 'kafkajs';
import { accountV1, encodeEventEnvelope, packEvent } from '@trellis/contracts';
import { startKafkaDevBroker, type KafkaDevBroker } from '@trellis/devstack/kafka';
import type { Logger } from '@trellis/platform/logging';
import { createKafka } from '../src';

/**
 * A devstack broker (2 partitions per topic) for the suite, or KAFKA_BROKERS, with a client and a
 * connected producer; read them inside tests (they are set in beforeAll).
 */
export function useDevKafka(
  clientId: string,
  logger: Logger,
): { kafka: Kafka; producer: Producer } {
  let broker: KafkaDevBroker | undefined;
  const suite = {} as { kafka: Kafka; producer: Producer };
  beforeAll(async () => {
    broker = process.env.KAFKA_BROKERS
      ? undefined
      : await startKafkaDevBroker({ port: 0, defaultPartitions: 2 });
    suite.kafka = createKafka({
      brokers: process.env.KAFKA_BROKERS?.split(',') ?? broker!.brokers,
      clientId,
      logger,
    });
    suite.producer = suite.kafka.producer();
    await suite.producer.connect();
  });
  afterAll(async () => {
    await suite.producer.disconnect();
    await broker?.stop();
  });
  return suite;
}

/** An encoded AccountOpened envelope with a fresh event id. */
export function accountOpenedValue(): Buffer {
  return encodeEventEnvelope(
    packEvent(
      'trellis.account.v1.AccountOpened',
      accountV1.AccountOpened.fromPartial({ accountId: randomUUID() }),
      { eventId: randomUUID(), occurredAt: new Date(), aggregateId: 'a', aggregateType: 'account' },
    ),
  );
}
