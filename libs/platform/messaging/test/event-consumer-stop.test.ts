import { randomUUID } from 'node:crypto';
import { captureLogger, waitFor } from '@trellis/platform/testing';
import { startEventConsumer } from '../src';
import { accountOpenedValue, useDevKafka } from './dev-kafka';

// The devstack broker answers a parked Fetch only when data arrives or its wait is over, as Kafka
// does (releaseFetches() is not called here).
const { logger } = captureLogger('event-consumer-stop-test');
const suite = useDevKafka('event-consumer-stop-test', logger);

const send = (topic: string) =>
  suite.producer.send({ topic, messages: [{ value: accountOpenedValue() }] });

it('stops without waiting out its parked fetch, and leaves its group', async () => {
  const topic = `stop.${randomUUID().slice(0, 8)}`;
  const groupId = `stop-group-${randomUUID().slice(0, 8)}`;
  await send(topic);
  let handled = 0;
  let fetches = 0;
  /** How many fetches had started when the last message was handled. */
  let fetchesAtHandle = 0;
  const consumer = await startEventConsumer({
    kafka: suite.kafka,
    groupId,
    topics: [topic],
    logger,
    // Far longer than the bound below: a stop that waited for the parked fetch would miss it.
    maxWaitTimeInMs: 30_000,
    handle: async () => {
      handled++;
      fetchesAtHandle = fetches;
    },
  });
  consumer.consumer.on(consumer.consumer.events.FETCH_START, () => fetches++);
  const nextFetchStarted = () =>
    waitFor(() => fetches > fetchesAtHandle || undefined, { timeoutMs: 10_000 });
  await waitFor(() => handled === 1 || undefined, { timeoutMs: 10_000 });

  // A message still ends a parked fetch at once.
  await nextFetchStarted();
  await send(topic);
  await waitFor(() => handled === 2 || undefined, { timeoutMs: 10_000 });

  // The next fetch is parked for 30 s; stop() does not wait for it.
  await nextFetchStarted();
  const stopped = consumer.stop().then(() => 'stopped' as const);
  const outcome = await Promise.race([
    stopped,
    new Promise<'late'>((resolve) => setTimeout(() => resolve('late'), 10_000).unref()),
  ]);
  expect(outcome).toBe('stopped');

  // It left the group (LeaveGroup went out): a successor does not wait for its session to expire.
  const admin = suite.kafka.admin();
  await admin.connect();
  try {
    const { groups } = await admin.describeGroups([groupId]);
    expect(groups[0].members).toEqual([]);
  } finally {
    await admin.disconnect();
  }
}, 40_000);
