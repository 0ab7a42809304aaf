import { randomUUID } from 'node:crypto';
import type { Kafka, Producer } from 'kafkajs';
import { Registry } from 'prom-client';
import { accountV1, encodeEventEnvelope, packEvent } from '@trellis/contracts';
import { startKafkaDevBroker, type KafkaDevBroker } from '@trellis/devstack/kafka';
import { captureLogger, waitFor } from '@trellis/platform/testing';
import { CONSUMER_LAG_METRIC, createKafka, startEventConsumer } from '../src';

let broker: KafkaDevBroker | undefined;
let kafka: Kafka;
let producer: Producer;
const { logger } = captureLogger('consumer-lag-test');

beforeAll(async () => {
  broker = process.env.KAFKA_BROKERS
    ? undefined
    : await startKafkaDevBroker({ port: 0, defaultPartitions: 2 });
  kafka = createKafka({
    brokers: process.env.KAFKA_BROKERS?.split(',') ?? broker!.brokers,
    clientId: 'consumer-lag-test',
    logger,
  });
  producer = kafka.producer();
  await producer.connect();
});

afterAll(async () => {
  await producer.disconnect();
  await broker?.stop();
});

/** The lag series of the registry, keyed `topic/partition`. */
async function lagOf(metrics: Registry, group: string): Promise<Map<string, number>> {
  const metric = await metrics.getSingleMetric(CONSUMER_LAG_METRIC)!.get();
  return new Map(
    metric.values
      .filter((v) => v.labels.consumer_group === group)
      .map((v) => [`${v.labels.topic}/${v.labels.partition}`, v.value]),
  );
}

it('exposes the consumer lag per group and partition: what is not committed yet, 0 once consumed', async () => {
  const topic = `lag.${randomUUID().slice(0, 8)}`;
  const groupId = `lag-group-${randomUUID().slice(0, 8)}`;
  const send = (n: number, partition: number) =>
    producer.send({
      topic,
      messages: Array.from({ length: n }, () => ({
        partition,
        value: encodeEventEnvelope(
          packEvent(
            'trellis.account.v1.AccountOpened',
            accountV1.AccountOpened.fromPartial({ accountId: randomUUID() }),
            {
              eventId: randomUUID(),
              occurredAt: new Date(),
              aggregateId: 'a',
              aggregateType: 'account',
            },
          ),
        ),
      })),
    });
  await send(1, 0);
  let release: () => void = () => undefined;
  const gate = new Promise<void>((resolve) => (release = resolve));
  const metrics = new Registry();
  const consumer = await startEventConsumer({
    kafka,
    groupId,
    topics: [topic],
    logger,
    metrics,
    // The first message holds its partition until released: everything behind it is lag.
    handle: () => gate,
  });
  try {
    await send(4, 0);
    await send(2, 1);
    const held = await waitFor(async () => {
      const lag = await lagOf(metrics, groupId);
      return lag.get(`${topic}/0`) === 5 && lag.get(`${topic}/1`) === 2 ? lag : undefined;
    });
    expect(held.size).toBe(2);
    release();
    await waitFor(async () => {
      const lag = await lagOf(metrics, groupId);
      return lag.get(`${topic}/0`) === 0 && lag.get(`${topic}/1`) === 0;
    });
    expect(await metrics.metrics()).toContain(
      `${CONSUMER_LAG_METRIC}{consumer_group="${groupId}",topic="${topic}",partition="0"} 0`,
    );
  } finally {
    release();
    await consumer.stop();
  }
  // A stopped consumer's group is no longer reported by this process.
  expect((await lagOf(metrics, groupId)).size).toBe(0);
});
