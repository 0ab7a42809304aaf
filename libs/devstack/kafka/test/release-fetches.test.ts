/**
 * releaseFetches: the devstack answers parked fetches at once before its clients shut down, so a
 * consumer with a long maxWaitTime leaves without waiting it out (kafkajs waits for the fetch).
 */
import { startKafkaDevBroker, type KafkaDevBroker } from '../src';
import { fastConsumer, kafkaClient, unique, waitFor } from './support';

let broker: KafkaDevBroker;

beforeAll(async () => {
  broker = await startKafkaDevBroker({ port: 0 });
});
afterAll(async () => {
  await broker?.stop();
});

// Liveness bound: far below the consumer's 10-minute fetch wait, so only the release can pass it.
jest.setTimeout(30_000);

it('a consumer long-polling an empty topic leaves at once after releaseFetches', async () => {
  const kafka = kafkaClient(broker.brokers);
  const admin = kafka.admin();
  await admin.connect();
  const topic = unique('release');
  await admin.createTopics({ topics: [{ topic, numPartitions: 1 }] });
  await admin.disconnect();
  const consumer = kafka.consumer({
    groupId: unique('g'),
    ...fastConsumer,
    maxWaitTimeInMs: 600_000,
  });
  let fetchesStarted = 0;
  consumer.on(consumer.events.FETCH_START, () => fetchesStarted++);
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  await consumer.run({ eachMessage: async () => undefined });
  await waitFor(() => fetchesStarted >= 1, 'a fetch parked on the broker');
  broker.releaseFetches();
  await consumer.disconnect();
});
