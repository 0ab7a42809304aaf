import { randomUUID } from 'node:crypto';
import { trace } from '@opentelemetry/api';
import { InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { type Kafka, type Producer } from 'kafkajs';
import { MongoClient, type Db } from 'mongodb';
import { accountV1, type DecodedEvent } from '@trellis/contracts';
import { startKafkaDevBroker, type KafkaDevBroker } from '@trellis/devstack/kafka';
import { startMongoDevServer, type MongoDevServer } from '@trellis/devstack/mongo';
import { Lease, Outbox, withTransaction } from '@trellis/platform/mongo';
import { startTelemetry, type Telemetry } from '@trellis/platform/telemetry';
import { captureLogger, waitFor } from '@trellis/platform/testing';
import {
  createKafka,
  OutboxRelay,
  startEventConsumer,
  toOutboxMessage,
  type EventConsumer,
} from '../src';
import { findPublishedEventIds } from '../src/published-event-ids';

// MONGODB_URI / KAFKA_BROKERS set: real servers; unset: the embedded devstack servers.
let mongoServer: MongoDevServer | undefined;
let broker: KafkaDevBroker | undefined;
let client: MongoClient;
let db: Db;
let kafka: Kafka;
let producer: Producer;
let telemetry: Telemetry;
const spans = new InMemorySpanExporter();
const { logger } = captureLogger('messaging-test');

beforeAll(async () => {
  telemetry = startTelemetry({
    serviceName: 'messaging-test',
    spanProcessors: [new SimpleSpanProcessor(spans)],
  });
  // Test commands on: the fault-injection test arms mongod's failCommand fail point.
  mongoServer = process.env.MONGODB_URI
    ? undefined
    : await startMongoDevServer({ port: 0, enableTestCommands: true });
  broker = process.env.KAFKA_BROKERS
    ? undefined
    : await startKafkaDevBroker({ port: 0, defaultPartitions: 3 });
  client = new MongoClient(process.env.MONGODB_URI ?? mongoServer!.uri);
  await client.connect();
  db = client.db(`messaging_${randomUUID().slice(0, 8)}`);
  kafka = createKafka({
    brokers: process.env.KAFKA_BROKERS?.split(',') ?? broker!.brokers,
    clientId: 'messaging-test',
    logger,
  });
  producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
  await producer.connect();
});

afterAll(async () => {
  await producer.disconnect();
  await db.dropDatabase();
  await client.close();
  await broker?.stop();
  await mongoServer?.stop();
  await telemetry.shutdown();
});

function opened(accountId: string, n: number) {
  return accountV1.AccountOpened.fromPartial({
    accountId,
    ownerName: `Owner ${n}`,
    email: `owner${n}@example.com`,
    currencyCode: 'EUR',
  });
}

async function collect(
  topic: string,
  groupId: string,
  into: Array<{ event: DecodedEvent; partition: number; traceId?: string }>,
) {
  return startEventConsumer({
    kafka,
    groupId,
    topics: [topic],
    logger,
    producer,
    deadLetterTopic: `${topic}.dlq`,
    sessionTimeoutMs: 6_000,
    heartbeatIntervalMs: 500,
    maxWaitTimeInMs: 100,
    async handle({ event, partition }) {
      into.push({ event, partition, traceId: trace.getActiveSpan()?.spanContext().traceId });
    },
  });
}

/** A relay on a fresh topic and outbox, counting its polls. */
async function countingRelay(name: string, poll: { idlePollMs: number; maxIdlePollMs?: number }) {
  const topic = `relay.${name}.${randomUUID().slice(0, 8)}`;
  const outbox = new Outbox(db, 3600, `outbox_${randomUUID().slice(0, 8)}`);
  await outbox.ensureIndexes();
  const relay = new OutboxRelay({
    outbox,
    producer,
    kafka,
    lease: new Lease(db, topic, `relay-${name}`, 10_000),
    logger,
    ...poll,
  });
  const polls: number[] = [];
  const publishBatch = relay.publishBatch.bind(relay);
  relay.publishBatch = () => (polls.push(performance.now()), publishBatch());
  return { topic, outbox, relay, polls };
}

describe('OutboxRelay', () => {
  it('publishes committed events once, in order per aggregate, continuing each writer’s trace', async () => {
    const { topic, outbox, relay } = await countingRelay('order', { idlePollMs: 10 });
    relay.start();
    const received: Array<{ event: DecodedEvent; partition: number; traceId?: string }> = [];
    const consumer = await collect(topic, `g-${topic}`, received);
    const writerTraces = new Map<string, string>();
    try {
      const tracer = trace.getTracer('test');
      for (let n = 0; n < 30; n++) {
        const aggregate = `acc-${n % 3}`;
        await tracer.startActiveSpan(`rpc ${n}`, async (span) => {
          writerTraces.set(`Owner ${n}`, span.spanContext().traceId);
          await withTransaction(client, (session) =>
            outbox.append(session, [
              toOutboxMessage(topic, 'trellis.account.v1.AccountOpened', opened(aggregate, n), {
                id: aggregate,
                type: 'account',
              }),
            ]),
          );
          span.end();
        });
      }
      await waitFor(() => received.length >= 30, { timeoutMs: 20_000, what: '30 events' });
      expect(received).toHaveLength(30);
      for (const aggregate of ['acc-0', 'acc-1', 'acc-2']) {
        const events = received.filter(
          (r) =>
            r.event.eventType === 'trellis.account.v1.AccountOpened' &&
            r.event.payload.accountId === aggregate,
        );
        expect(new Set(events.map((e) => e.partition)).size).toBe(1);
        const order = events.map((e) =>
          Number((e.event.payload as accountV1.AccountOpened).ownerName.split(' ')[1]),
        );
        expect(order).toEqual([...order].sort((a, b) => a - b));
      }
      for (const r of received) {
        const owner = (r.event.payload as accountV1.AccountOpened).ownerName;
        expect(r.traceId).toBe(writerTraces.get(owner));
      }
      expect(await outbox.collection.countDocuments({ published_at: null })).toBe(0);
      const sendSpans = spans.getFinishedSpans().filter((s) => s.name === `send ${topic}`);
      expect(sendSpans).toHaveLength(30);
    } finally {
      await consumer.stop();
      await relay.stop();
    }
  });

  it('events committed while no relay runs (a relay killed before publishing) are published by the next one', async () => {
    const topic = `relay.restart.${randomUUID().slice(0, 8)}`;
    const outbox = new Outbox(db, 3600, `outbox_${randomUUID().slice(0, 8)}`);
    const brokenProducer = kafka.producer();
    // Never connected: every publish attempt fails, as if the relay died before publishing.
    const failing = new OutboxRelay({
      outbox,
      producer: brokenProducer,
      kafka,
      lease: new Lease(db, topic, 'relay-a', 200),
      logger,
      idlePollMs: 10,
      maxBackoffMs: 50,
    });
    await withTransaction(client, (session) =>
      outbox.append(session, [
        toOutboxMessage(topic, 'trellis.account.v1.AccountOpened', opened('acc-9', 9), {
          id: 'acc-9',
          type: 'account',
        }),
      ]),
    );
    await expect(failing.publishBatch()).rejects.toThrow();
    expect(await outbox.collection.countDocuments({ published_at: null })).toBe(1);

    const received: Array<{ event: DecodedEvent; partition: number }> = [];
    const consumer = await collect(topic, `g-${topic}`, received);
    // The dead relay's lease (200 ms) expires and a second relay takes over.
    const next = new OutboxRelay({
      outbox,
      producer,
      kafka,
      lease: new Lease(db, topic, 'relay-b', 200),
      logger,
      idlePollMs: 10,
    });
    next.start();
    try {
      await waitFor(() => received.length === 1, {
        timeoutMs: 15_000,
        what: 'the republished event',
      });
      expect(received[0].event.payload).toMatchObject({ accountId: 'acc-9' });
      await waitFor(
        async () => (await outbox.collection.countDocuments({ published_at: null })) === 0,
      );
    } finally {
      await consumer.stop();
      await next.stop();
    }
  });

  it('the relay and a consumer survive injected errors on every command they send', async () => {
    const topic = `relay.faults.${randomUUID().slice(0, 8)}`;
    const outbox = new Outbox(db, 3600, `outbox_${randomUUID().slice(0, 8)}`);
    const seen = db.collection<{ _id: string }>(`seen_${randomUUID().slice(0, 8)}`);
    const ids: string[] = [];
    for (let n = 0; n < 20; n++) {
      const message = toOutboxMessage(
        topic,
        'trellis.account.v1.AccountOpened',
        opened(`f-${n}`, n),
        {
          id: `f-${n}`,
          type: 'account',
        },
      );
      ids.push(message.eventId);
      await withTransaction(client, (session) => outbox.append(session, [message]));
    }
    // From here on, about a third of the lease, outbox and handler commands fail: non-retryable errors
    // (surfacing to the relay's backoff and the consumer's retries) and dropped connections.
    const admin = client.db('admin');
    const arm = (data: Record<string, unknown>) =>
      admin.command({
        configureFailPoint: 'failCommand',
        mode: { activationProbability: 0.3 },
        data: { failCommands: ['find', 'update', 'findAndModify', 'insert', 'delete'], ...data },
      });
    await arm({ errorCode: 2 });
    const relay = new OutboxRelay({
      outbox,
      producer,
      kafka,
      lease: new Lease(db, topic, 'relay-faults', 10_000),
      logger,
      idlePollMs: 10,
      maxBackoffMs: 50,
    });
    relay.start();
    const consumer = await startEventConsumer({
      kafka,
      groupId: `g-${topic}`,
      topics: [topic],
      logger,
      sessionTimeoutMs: 6_000,
      heartbeatIntervalMs: 500,
      maxWaitTimeInMs: 100,
      async handle({ envelope }) {
        // Idempotent, as handlers must be: a redelivery upserts the same document.
        await seen.updateOne(
          { _id: envelope.eventId },
          { $set: { at: new Date() } },
          { upsert: true },
        );
      },
    });
    try {
      await waitFor(async () => (await seen.countDocuments()) >= 10, {
        timeoutMs: 60_000,
        what: 'half of the events handled despite the injected errors',
      });
      await arm({ closeConnection: true });
      await waitFor(async () => (await seen.countDocuments()) === ids.length, {
        timeoutMs: 60_000,
        what: 'every event handled despite dropped connections',
      });
      await admin.command({ configureFailPoint: 'failCommand', mode: 'off' });
      const handled = await seen.find().toArray();
      expect(handled.map((d) => d._id).sort()).toEqual([...ids].sort());
      await waitFor(
        async () => (await outbox.collection.countDocuments({ published_at: null })) === 0,
        {
          what: 'every outbox entry marked published',
        },
      );
    } finally {
      await admin.command({ configureFailPoint: 'failCommand', mode: 'off' });
      await consumer.stop();
      await relay.stop();
    }
  }, 150_000);

  it('no event id twice and none lost when the relay dies, its send fails or its delete fails after the broker appended', async () => {
    const topic = `relay.doubt.${randomUUID().slice(0, 8)}`;
    const name = `outbox_${randomUUID().slice(0, 8)}`;
    const outbox = new Outbox(db, 0, name);
    const eventIds: string[] = [];
    const append = async (from: number, count: number) => {
      const messages = Array.from({ length: count }, (_, i) =>
        toOutboxMessage(topic, 'trellis.account.v1.AccountOpened', opened(`d-${from + i}`, i), {
          id: `d-${from + i}`,
          type: 'account',
        }),
      );
      await withTransaction(client, (session) => outbox.append(session, messages));
      eventIds.push(...messages.map((m) => m.eventId));
    };

    // 1. A relay process killed between publish and delete: Kafka has the batch, the outbox too.
    class KilledBeforeDelete extends Outbox {
      override async markPublished(): Promise<void> {
        throw new Error('killed before the delete');
      }
    }
    await append(0, 10);
    const dead = new OutboxRelay({
      outbox: new KilledBeforeDelete(db, 0, name),
      producer,
      kafka,
      lease: new Lease(db, topic, 'relay-dead', 200),
      logger,
    });
    await expect(dead.publishBatch()).rejects.toThrow('killed before the delete');
    expect(await outbox.collection.countDocuments()).toBe(10);

    // 2. Its successor's first send fails after the broker appended it (the reply is lost).
    await append(10, 5);
    let loseReply = true;
    const flaky: Producer = {
      ...producer,
      async sendBatch(batch) {
        const result = await producer.sendBatch(batch);
        if (!loseReply) return result;
        loseReply = false;
        throw new Error('connection lost');
      },
    };
    const next = new OutboxRelay({
      outbox,
      producer: flaky,
      kafka,
      lease: new Lease(db, topic, 'relay-next', 200),
      logger,
    });
    // Returns 0 until the dead relay's lease expires; then takes over and loses the reply.
    await waitFor(
      () =>
        next.publishBatch().then(
          () => false,
          () => true,
        ),
      {
        timeoutMs: 20_000,
        what: 'the take-over',
      },
    );
    expect(loseReply).toBe(false);
    expect(await next.publishBatch()).toBe(5);
    expect(await outbox.collection.countDocuments()).toBe(0);

    // 3. A delete that fails once Kafka has acknowledged the batch.
    await append(15, 3);
    await client.db('admin').command({
      configureFailPoint: 'failCommand',
      mode: { times: 1 },
      data: { failCommands: ['delete'], errorCode: 2 },
    });
    await expect(next.publishBatch()).rejects.toThrow();
    expect(await next.publishBatch()).toBe(0);
    expect(await outbox.collection.countDocuments()).toBe(0);

    const admin = kafka.admin();
    await admin.connect();
    const offsets = await admin.fetchTopicOffsets(topic);
    await admin.disconnect();
    const messages = offsets.reduce((n, o) => n + Number(o.high) - Number(o.low), 0);
    const inKafka = await findPublishedEventIds(kafka, {
      topic,
      eventIds: new Set(eventIds),
      window: 100,
      timeoutMs: 20_000,
    });
    expect({ messages, lost: eventIds.filter((id) => !inKafka.has(id)) }).toEqual({
      messages: eventIds.length,
      lost: [],
    });
  }, 60_000);

  it('group documents and offered documents: every event once and in order, also one offered after a read published it', async () => {
    const { topic, outbox, relay } = await countingRelay('offer', { idlePollMs: 20 });
    const received: Array<{ event: DecodedEvent; partition: number; traceId?: string }> = [];
    const consumer = await collect(topic, `g-${topic}`, received);
    const sent: number[] = [];
    /** One transaction of `count` events as one group document; the relay is told of it or not. */
    const commit = async (from: number, count: number, offer: boolean) => {
      const numbers = Array.from({ length: count }, (_, i) => from + i);
      const messages = numbers.map((n) =>
        toOutboxMessage(topic, 'trellis.account.v1.AccountOpened', opened(`acc-${n % 2}`, n), {
          id: `acc-${n % 2}`,
          type: 'account',
        }),
      );
      const docs = await withTransaction(client, (session) =>
        outbox.appendGroup(session, messages),
      );
      sent.push(...numbers);
      if (offer) relay.offer(docs);
      return docs;
    };
    const numberOf = (r: { event: DecodedEvent }) =>
      Number((r.event.payload as accountV1.AccountOpened).ownerName.split(' ')[1]);
    try {
      relay.start();
      // Read back: a group committed before anyone was told.
      await commit(0, 4, false);
      await waitFor(() => received.length === 4, { what: 'the first group' });
      // Sent from memory as committed, many transactions in a row.
      for (let n = 1; n <= 10; n++) await commit(n * 10, 3, true);
      // Offered only after a read has published it: not sent again.
      const late = await commit(200, 2, false);
      await waitFor(
        async () => (await outbox.collection.countDocuments({ published_at: null })) === 0,
        { what: 'the outbox to drain' },
      );
      relay.offer(late);
      await commit(300, 1, true);
      await waitFor(() => received.length >= sent.length, { what: 'every event' });
      const admin = kafka.admin();
      await admin.connect();
      const offsets = await admin.fetchTopicOffsets(topic);
      await admin.disconnect();
      expect(offsets.reduce((n, o) => n + Number(o.high) - Number(o.low), 0)).toBe(sent.length);
      expect(received.map(numberOf).sort((a, b) => a - b)).toEqual(sent);
      for (const parity of [0, 1]) {
        const order = received.map(numberOf).filter((n) => n % 2 === parity);
        expect(order).toEqual([...order].sort((a, b) => a - b));
      }
    } finally {
      await relay.stop();
      await consumer.stop();
    }
  }, 60_000);

  it('commits offered within the linger go out in one send', async () => {
    const topic = `relay.linger.${randomUUID().slice(0, 8)}`;
    const outbox = new Outbox(db, 3600, `outbox_${randomUUID().slice(0, 8)}`);
    await outbox.ensureIndexes();
    const sends: number[] = [];
    const counting = Object.create(producer) as Producer;
    counting.sendBatch = (batch) => {
      sends.push(batch.topicMessages?.reduce((n, t) => n + t.messages.length, 0) ?? 0);
      return producer.sendBatch(batch);
    };
    const relay = new OutboxRelay({
      outbox,
      producer: counting,
      kafka,
      lease: new Lease(db, topic, 'relay-linger', 10_000),
      logger,
      idlePollMs: 20,
      lingerMs: 2_000,
    });
    const received: Array<{ event: DecodedEvent; partition: number; traceId?: string }> = [];
    const consumer = await collect(topic, `g-${topic}`, received);
    const polls: number[] = [];
    const publishBatch = relay.publishBatch.bind(relay);
    relay.publishBatch = () => (polls.push(1), publishBatch());
    try {
      relay.start();
      // Caught up: its first read found the outbox empty.
      await waitFor(() => polls.length >= 2, { what: 'an empty read' });
      // One after the other, each offered as it commits (the relay would send each at once).
      for (const n of [0, 1, 2]) {
        const docs = await withTransaction(client, (session) =>
          outbox.appendGroup(session, [
            toOutboxMessage(topic, 'trellis.account.v1.AccountOpened', opened(`acc-${n}`, n), {
              id: `acc-${n}`,
              type: 'account',
            }),
          ]),
        );
        relay.offer(docs);
      }
      await waitFor(() => received.length === 3, { timeoutMs: 20_000, what: 'the three events' });
      expect(sends).toEqual([3]);
    } finally {
      await relay.stop();
      await consumer.stop();
    }
  }, 60_000);

  it('only the lease holder publishes when two relays run', async () => {
    const topic = `relay.lease.${randomUUID().slice(0, 8)}`;
    const outbox = new Outbox(db, 3600, `outbox_${randomUUID().slice(0, 8)}`);
    const relays = ['r1', 'r2'].map(
      (owner) =>
        new OutboxRelay({
          outbox,
          producer,
          kafka,
          lease: new Lease(db, topic, owner, 10_000),
          logger,
          idlePollMs: 10,
        }),
    );
    await withTransaction(client, (session) =>
      outbox.append(
        session,
        Array.from({ length: 20 }, (_, n) =>
          toOutboxMessage(topic, 'trellis.account.v1.AccountOpened', opened(`a${n}`, n), {
            id: `a${n}`,
            type: 'account',
          }),
        ),
      ),
    );
    const published = await Promise.all(relays.map((r) => r.publishBatch()));
    expect(published.sort()).toEqual([0, 20]);
  });

  it('an idle relay polls less and less often', async () => {
    const { relay, polls } = await countingRelay('idle', { idlePollMs: 10, maxIdlePollMs: 60_000 });
    relay.start();
    try {
      await waitFor(() => polls.length >= 7, { what: '7 polls' });
      // Waits of 10, 20, 40 … ms: the sixth is at least 320 ms however slow the machine is.
      expect(polls[6] - polls[5]).toBeGreaterThanOrEqual(300);
    } finally {
      await relay.stop();
    }
  });

  it('a notify wakes an idle relay at once', async () => {
    // Polling once a minute: within waitFor's 10 s only the wake-up can publish the event.
    const { topic, outbox, relay, polls } = await countingRelay('wake', { idlePollMs: 60_000 });
    relay.start();
    const received: Array<{ event: DecodedEvent; partition: number }> = [];
    const consumer = await collect(topic, `g-${topic}`, received);
    try {
      await waitFor(() => polls.length >= 1, { what: 'the first poll' });
      await withTransaction(client, (session) =>
        outbox.append(session, [
          toOutboxMessage(topic, 'trellis.account.v1.AccountOpened', opened('idle', 1), {
            id: 'idle',
            type: 'account',
          }),
        ]),
      );
      relay.notify();
      await waitFor(() => received.length === 1, { what: 'the event' });
    } finally {
      await relay.stop();
      await consumer.stop();
    }
  });
});

describe('startEventConsumer', () => {
  it('sends an undecodable message to the dead-letter topic and carries on', async () => {
    const topic = `consumer.poison.${randomUUID().slice(0, 8)}`;
    const received: Array<{ event: DecodedEvent; partition: number }> = [];
    const consumer: EventConsumer = await collect(topic, `g-${topic}`, received);
    const dlq: string[] = [];
    const dlqConsumer = kafka.consumer({
      groupId: `dlq-${topic}`,
      sessionTimeout: 6_000,
      heartbeatInterval: 500,
      maxWaitTimeInMs: 100,
    });
    await dlqConsumer.connect();
    await dlqConsumer.subscribe({ topic: `${topic}.dlq`, fromBeginning: true });
    await dlqConsumer.run({
      eachMessage: async ({ message }) => void dlq.push(String(message.headers?.error)),
    });
    try {
      const good = toOutboxMessage(topic, 'trellis.account.v1.AccountOpened', opened('p1', 1), {
        id: 'p1',
        type: 'account',
      });
      await producer.send({
        topic,
        messages: [
          { key: 'p1', value: Buffer.from([0xff, 0xff, 0xff]) },
          { key: 'p1', value: Buffer.from(good.value) },
        ],
      });
      await waitFor(() => received.length === 1 && dlq.length === 1, {
        timeoutMs: 15_000,
        what: 'one good event and one dead letter',
      });
      expect(dlq[0]).toMatch(/^undecodable: /);
    } finally {
      await consumer.stop();
      await dlqConsumer.disconnect();
    }
  });
});
