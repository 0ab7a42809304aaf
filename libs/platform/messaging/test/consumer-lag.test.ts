import { randomUUID } from 'node:crypto';
import { Registry } from 'prom-client';
import { captureLogger, waitFor } from '@trellis/platform/testing';
import { CONSUMER_LAG_METRIC, startEventConsumer } from '../src';
import { accountOpenedValue, useDevKafka } from './dev-kafka';

const { logger } = captureLogger('consumer-lag-test');
const suite = useDevKafka('consumer-lag-test', logger);

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
    suite.producer.send({
      topic,
      messages: Array.from({ length: n }, () => ({ partition, value: accountOpenedValue() })),
    });
  await send(1, 0);
  let release: () => void = () => undefined;
  const gate = new Promise<void>((resolve) => (release = resolve));
  const metrics = new Registry();
  const consumer = await startEventConsumer({
    kafka: suite.kafka,
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
