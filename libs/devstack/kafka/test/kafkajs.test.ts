/**
 * kafkajs against the devstack broker, or against a real Kafka when KAFKA_BROKERS is set: the
 * same assertions either way, with unique topic and group names per test.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  CompressionTypes,
  ConfigResourceTypes,
  type Admin,
  type Consumer,
  type Producer,
  Partitioners,
} from 'kafkajs';
import { startKafkaDevBroker } from '../src';
import {
  type KafkaTarget,
  type Received,
  collect,
  fastConsumer,
  kafkaClient,
  startTarget,
  trackAssignment,
  unique,
  usingRealKafka,
  waitFor,
} from './support';

let target: KafkaTarget;
let admin: Admin;
let producer: Producer;
const consumers: Consumer[] = [];

function newConsumer(groupId: string): Consumer {
  const c = kafkaClient(target.brokers).consumer({ groupId, ...fastConsumer });
  consumers.push(c);
  return c;
}

async function createTopic(topic: string, numPartitions: number): Promise<void> {
  await admin.createTopics({ topics: [{ topic, numPartitions }], waitForLeaders: true });
}

async function produceValues(topic: string, values: string[], partition?: number): Promise<void> {
  await producer.send({ topic, messages: values.map((value) => ({ value, partition })) });
}

beforeAll(async () => {
  target = await startTarget();
  const kafka = kafkaClient(target.brokers);
  admin = kafka.admin();
  producer = kafka.producer({ createPartitioner: Partitioners.DefaultPartitioner });
  await admin.connect();
  await producer.connect();
});

afterEach(async () => {
  await Promise.all(consumers.splice(0).map((c) => c.disconnect()));
});

afterAll(async () => {
  await producer.disconnect();
  await admin.disconnect();
  await target.stop();
});

describe('kafkajs producer and consumer', () => {
  it('puts keyed messages in the partition the default partitioner picks, consumed in order', async () => {
    const topic = unique('keyed');
    await createTopic(topic, 3);
    const partitioner = Partitioners.DefaultPartitioner();
    const partitionMetadata = [0, 1, 2].map((partitionId) => ({
      partitionErrorCode: 0,
      partitionId,
      leader: 0,
      replicas: [0],
      isr: [0],
    }));
    const keys = Array.from({ length: 12 }, (_, i) => `key-${i}`);
    const messages = [0, 1, 2, 3].flatMap((round) =>
      keys.map((key) => ({ key, value: `${key}#${round}` })),
    );
    const expected = new Map(
      keys.map((key) => [
        key,
        partitioner({ topic, partitionMetadata, message: { key, value: null } }),
      ]),
    );
    expect(new Set(expected.values()).size).toBeGreaterThan(1);
    // One send per round keeps the per-key order of the rounds.
    for (let round = 0; round < 4; round++) {
      await producer.send({
        topic,
        messages: messages.filter((m) => m.value.endsWith(`#${round}`)),
      });
    }

    const received = await collect(newConsumer(unique('keyed-group')), topic);
    await waitFor(() => received.length >= messages.length, 'all keyed messages');

    expect(received).toHaveLength(messages.length);
    for (const m of received) expect(m.partition).toBe(expected.get(m.key ?? ''));
    for (const key of keys) {
      const values = received.filter((m) => m.key === key).map((m) => m.value);
      expect(values).toEqual([0, 1, 2, 3].map((r) => `${key}#${r}`));
    }
    for (const p of [0, 1, 2]) {
      const offsets = received.filter((m) => m.partition === p).map((m) => m.offset);
      expect(offsets).toEqual(offsets.map((_, i) => i));
    }
  });

  it('a fetch with nothing to return waits maxWaitTime on the broker instead of answering at once', async () => {
    const topic = unique('idle');
    await admin.createTopics({ topics: [{ topic, numPartitions: 1 }] });
    const c = kafkaClient(target.brokers).consumer({
      groupId: unique('g'),
      ...fastConsumer,
      maxWaitTimeInMs: 1_000,
    });
    consumers.push(c);
    const fetches: number[] = [];
    c.on(c.events.FETCH, () => fetches.push(performance.now()));
    await c.connect();
    await c.subscribe({ topic, fromBeginning: true });
    await c.run({ eachMessage: async () => undefined });
    await waitFor(() => fetches.length >= 4, 'four empty fetches');
    // Three fetches of an empty partition each waited their second: not fewer than ~3 s in all.
    expect(fetches[3] - fetches[0]).toBeGreaterThanOrEqual(2_500);
  });

  it('keeps headers, including repeated ones and binary values', async () => {
    const topic = unique('headers');
    await createTopic(topic, 1);
    await producer.send({
      topic,
      messages: [
        {
          key: 'k',
          value: 'with headers',
          headers: {
            traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01',
            multi: ['a', 'b'],
            bin: Buffer.from([0xde, 0xad]),
          },
        },
        { value: 'no headers' },
      ],
    });
    const received = await collect(newConsumer(unique('headers-group')), topic);
    await waitFor(() => received.length >= 2, 'two messages');
    expect(received[0]?.headers).toEqual({
      traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01',
      multi: ['a', 'b'],
      bin: Buffer.from([0xde, 0xad]).toString(),
    });
    expect(received[0]?.key).toBe('k');
    expect(received[1]).toMatchObject({ key: null, value: 'no headers', headers: {} });
  });

  it('passes GZIP-compressed batches through untouched', async () => {
    const topic = unique('gzip');
    await createTopic(topic, 1);
    const values = Array.from({ length: 50 }, (_, i) => `compressed ${i} ${'x'.repeat(200)}`);
    await producer.send({
      topic,
      compression: CompressionTypes.GZIP,
      messages: values.map((value, i) => ({ key: String(i), value, headers: { i: String(i) } })),
    });
    const received = await collect(newConsumer(unique('gzip-group')), topic);
    await waitFor(() => received.length >= values.length, 'compressed messages');
    expect(received.map((m) => m.value)).toEqual(values);
    expect(received.map((m) => m.offset)).toEqual(values.map((_, i) => i));
    expect(received[49]?.headers).toEqual({ i: '49' });
  });

  it('reports offsets through ListOffsets: earliest, latest and by timestamp', async () => {
    const topic = unique('offsets');
    await createTopic(topic, 1);
    const t0 = Date.now();
    await producer.send({
      topic,
      messages: [
        { value: 'old', timestamp: String(t0 - 60000) },
        { value: 'older-batch-mate', timestamp: String(t0 - 30000) },
      ],
    });
    await producer.send({ topic, messages: [{ value: 'new', timestamp: String(t0) }] });
    expect(await admin.fetchTopicOffsets(topic)).toEqual([
      expect.objectContaining({ partition: 0, low: '0', high: '3', offset: '3' }),
    ]);
    const byTime = await admin.fetchTopicOffsetsByTimestamp(topic, t0 - 45000);
    expect(byTime).toEqual([{ partition: 0, offset: '1' }]);
    const future = await admin.fetchTopicOffsetsByTimestamp(topic, t0 + 3600000);
    // kafkajs maps "no such offset" (-1) to the high watermark.
    expect(future).toEqual([{ partition: 0, offset: '3' }]);
  });
});

describe('kafkajs consumer groups', () => {
  it('splits partitions between two members and loses nothing when a third joins', async () => {
    const topic = unique('rebalance');
    const groupId = unique('rebalance-group');
    await createTopic(topic, 3);
    const all: Received[] = [];
    const start = async (): Promise<{ partitions: number[] }> => {
      const c = newConsumer(groupId);
      const assignment = trackAssignment(c);
      const received = await collect(c, topic);
      const push = received.push.bind(received);
      received.push = (...items: Received[]) => {
        all.push(...items);
        return push(...items);
      };
      return assignment;
    };
    const a = await start();
    const b = await start();
    await waitFor(
      () =>
        a.partitions.length + b.partitions.length === 3 &&
        a.partitions.length > 0 &&
        b.partitions.length > 0,
      'two members sharing three partitions',
    );
    expect([...a.partitions, ...b.partitions].sort()).toEqual([0, 1, 2]);

    let sent = 0;
    const sendSome = async (n: number): Promise<void> => {
      const values = Array.from({ length: n }, () => `m${sent++}`);
      await producer.send({ topic, messages: values.map((value) => ({ key: value, value })) });
    };
    await sendSome(30);
    const c = await start();
    // Keep producing while the group rebalances.
    await waitFor(async () => {
      await sendSome(3);
      return c.partitions.length === 1 && a.partitions.length === 1 && b.partitions.length === 1;
    }, 'three members with one partition each');
    expect([...a.partitions, ...b.partitions, ...c.partitions].sort()).toEqual([0, 1, 2]);
    await sendSome(30);

    await waitFor(() => new Set(all.map((m) => m.value)).size === sent, 'every message consumed');
    const values = new Set(all.map((m) => m.value));
    for (let i = 0; i < sent; i++) expect(values.has(`m${i}`)).toBe(true);
  });

  it('resumes at the committed offset after a restart (at-least-once)', async () => {
    const topic = unique('resume');
    const groupId = unique('resume-group');
    await createTopic(topic, 1);
    await produceValues(topic, ['a0', 'a1', 'a2', 'a3', 'a4']);

    const first = newConsumer(groupId);
    const seen = await collect(first, topic);
    await waitFor(() => seen.length >= 5, 'first five');
    await first.disconnect(); // commits what was processed
    const committed = await admin.fetchOffsets({ groupId, topics: [topic] });
    expect(committed[0]?.partitions).toEqual([{ partition: 0, offset: '5', metadata: null }]);

    await produceValues(topic, ['b5', 'b6', 'b7']);
    const second = newConsumer(groupId);
    const resumed = await collect(second, topic);
    await waitFor(() => resumed.length >= 3, 'the three new messages');
    expect(resumed.map((m) => m.value)).toEqual(['b5', 'b6', 'b7']);
    expect(resumed[0]?.offset).toBe(5);
  });

  it('lets two groups read the same topic independently', async () => {
    const topic = unique('twogroups');
    await createTopic(topic, 2);
    const values = Array.from({ length: 20 }, (_, i) => `v${i}`);
    await producer.send({ topic, messages: values.map((value) => ({ key: value, value })) });
    const one = await collect(newConsumer(unique('group-one')), topic);
    const two = await collect(newConsumer(unique('group-two')), topic);
    await waitFor(() => one.length >= 20 && two.length >= 20, 'both groups');
    expect(one.map((m) => m.value).sort()).toEqual([...values].sort());
    expect(two.map((m) => m.value).sort()).toEqual([...values].sort());
  });

  it('starts at the end without fromBeginning, at the start with it, and honours seek', async () => {
    const topic = unique('seek');
    await createTopic(topic, 1);
    await produceValues(topic, ['old0', 'old1', 'old2', 'old3']);

    const latest = newConsumer(unique('latest-group'));
    let fetched = 0;
    latest.on(latest.events.FETCH, () => fetched++);
    const fromEnd = await collect(latest, topic, false);
    await waitFor(() => fetched > 0, 'the latest consumer to fetch once');
    await produceValues(topic, ['new4']);

    const beginning = newConsumer(unique('beginning-group'));
    const fromStart = await collect(beginning, topic, true);
    await waitFor(() => fromEnd.length >= 1 && fromStart.length >= 5, 'both consumers');
    expect(fromEnd.map((m) => m.value)).toEqual(['new4']);
    expect(fromStart.map((m) => m.value)).toEqual(['old0', 'old1', 'old2', 'old3', 'new4']);

    beginning.seek({ topic, partition: 0, offset: '2' });
    await waitFor(() => fromStart.length >= 8, 'redelivery after seek');
    expect(fromStart.slice(5).map((m) => m.offset)).toEqual([2, 3, 4]);
  });

  it('describes and lists groups', async () => {
    const topic = unique('describe');
    const groupId = unique('describe-group');
    await createTopic(topic, 2);
    const c = newConsumer(groupId);
    const assignment = trackAssignment(c);
    await collect(c, topic);
    await waitFor(() => assignment.partitions.length === 2, 'assignment');
    await waitFor(
      async () => (await c.describeGroup()).state === 'Stable',
      'the group to be Stable',
    );
    const described = await c.describeGroup();
    expect(described).toMatchObject({ groupId, state: 'Stable', protocolType: 'consumer' });
    expect(described.members).toHaveLength(1);
    const { groups } = await admin.listGroups();
    expect(groups).toContainEqual({ groupId, protocolType: 'consumer' });
  });
});

describe('kafkajs admin', () => {
  it('creates, lists, describes and deletes topics', async () => {
    const topic = unique('admin');
    expect(await admin.createTopics({ topics: [{ topic, numPartitions: 4 }] })).toBe(true);
    expect(await admin.createTopics({ topics: [{ topic, numPartitions: 4 }] })).toBe(false);
    expect(await admin.listTopics()).toContain(topic);
    const meta = await admin.fetchTopicMetadata({ topics: [topic] });
    expect(meta.topics[0]?.partitions).toHaveLength(4);
    await admin.deleteTopics({ topics: [topic] });
    await waitFor(async () => !(await admin.listTopics()).includes(topic), 'topic deletion');
  });

  it('auto-creates a topic on first produce', async () => {
    const topic = unique('auto');
    await producer.send({ topic, messages: [{ value: 'hello' }] });
    expect(await admin.listTopics()).toContain(topic);
  });

  it('adds partitions and refuses to shrink a topic', async () => {
    const topic = unique('grow');
    await createTopic(topic, 2);
    await admin.createPartitions({ topicPartitions: [{ topic, count: 5 }] });
    const meta = await admin.fetchTopicMetadata({ topics: [topic] });
    expect(meta.topics[0]?.partitions).toHaveLength(5);
    await expect(
      admin.createPartitions({ topicPartitions: [{ topic, count: 3 }] }),
    ).rejects.toThrow(/partitions/i);
    await producer.send({ topic, messages: [{ value: 'p4', partition: 4 }] });
    const offsets = await admin.fetchTopicOffsets(topic);
    expect(offsets.find((o) => o.partition === 4)?.high).toBe('1');
  });

  it('describes topic configs and alters them', async () => {
    const topic = unique('configs');
    await admin.createTopics({
      topics: [
        { topic, numPartitions: 1, configEntries: [{ name: 'retention.ms', value: '60000' }] },
      ],
    });
    const describe = async (): Promise<Record<string, string>> => {
      const res = await admin.describeConfigs({
        includeSynonyms: false,
        resources: [{ type: ConfigResourceTypes.TOPIC, name: topic }],
      });
      const entries = res.resources[0]?.configEntries ?? [];
      return Object.fromEntries(entries.map((e) => [e.configName, e.configValue]));
    };
    expect(await describe()).toMatchObject({ 'cleanup.policy': 'delete', 'retention.ms': '60000' });
    await admin.alterConfigs({
      validateOnly: false,
      resources: [
        {
          type: ConfigResourceTypes.TOPIC,
          name: topic,
          configEntries: [{ name: 'cleanup.policy', value: 'compact' }],
        },
      ],
    });
    const after = await describe();
    expect(after['cleanup.policy']).toBe('compact');
    expect(after['retention.ms']).not.toBe('60000'); // AlterConfigs replaces the whole set
  });

  it('fetches every committed offset of a group when no topic is named', async () => {
    const [t1, t2] = [unique('fo-a'), unique('fo-b')];
    const groupId = unique('fo-group');
    await createTopic(t1, 1);
    await createTopic(t2, 2);
    await admin.setOffsets({ groupId, topic: t1, partitions: [{ partition: 0, offset: '3' }] });
    await admin.setOffsets({ groupId, topic: t2, partitions: [{ partition: 1, offset: '7' }] });
    const all = await admin.fetchOffsets({ groupId });
    expect(all.map((t) => t.topic).sort()).toEqual([t1, t2].sort());
    const b = all.find((t) => t.topic === t2);
    expect(b?.partitions).toContainEqual(expect.objectContaining({ partition: 1, offset: '7' }));
  });

  it('deletes an empty group with its offsets and refuses a group with members', async () => {
    const topic = unique('delgroup');
    const [empty, busy] = [unique('del-empty'), unique('del-busy')];
    await createTopic(topic, 1);
    await admin.setOffsets({ groupId: empty, topic, partitions: [{ partition: 0, offset: '1' }] });
    const c = newConsumer(busy);
    const assignment = trackAssignment(c);
    await collect(c, topic);
    await waitFor(() => assignment.partitions.length === 1, 'assignment');
    await admin.deleteGroups([empty]);
    expect((await admin.listGroups()).groups.map((g) => g.groupId)).not.toContain(empty);
    await expect(admin.deleteGroups([busy])).rejects.toThrow();
  });

  it('deletes records below an offset (the log start moves up)', async () => {
    const topic = unique('delrec');
    await createTopic(topic, 1);
    await produceValues(topic, ['a', 'b', 'c', 'd'], 0);
    // kafkajs looks the leader up in the admin's metadata cache only, so load the topic first.
    await admin.fetchTopicMetadata({ topics: [topic] });
    await admin.deleteTopicRecords({ topic, partitions: [{ partition: 0, offset: '2' }] });
    const [p0] = await admin.fetchTopicOffsets(topic);
    expect(p0).toMatchObject({ low: '2', high: '4' });
  });
});

describe('kafkajs transactions', () => {
  it('shows committed transactions to read_committed consumers and hides aborted ones', async () => {
    const topic = unique('txn');
    const source = unique('txn-src');
    const groupId = unique('txn-group');
    await createTopic(topic, 1);
    await createTopic(source, 1);
    const txProducer = kafkaClient(target.brokers).producer({
      transactionalId: unique('tx'),
      idempotent: true,
      maxInFlightRequests: 1,
    });
    await txProducer.connect();
    try {
      const aborted = await txProducer.transaction();
      await aborted.send({ topic, messages: [{ value: 'aborted', partition: 0 }] });
      await aborted.abort();
      const committed = await txProducer.transaction();
      await committed.send({ topic, messages: [{ value: 'committed', partition: 0 }] });
      await committed.sendOffsets({
        consumerGroupId: groupId,
        topics: [{ topic: source, partitions: [{ partition: 0, offset: '5' }] }],
      });
      await committed.commit();
    } finally {
      await txProducer.disconnect();
    }
    const c = newConsumer(unique('txn-reader'));
    const got = await collect(c, topic);
    await waitFor(() => got.length >= 1, 'the committed message');
    await produceValues(topic, ['after'], 0);
    await waitFor(() => got.length >= 2, 'the message after the transactions');
    expect(got.map((m) => m.value)).toEqual(['committed', 'after']);
    const [offsets] = await admin.fetchOffsets({ groupId, topics: [source] });
    expect(offsets?.partitions).toContainEqual(
      expect.objectContaining({ partition: 0, offset: '5' }),
    );
  });
});

// Restarting needs a broker this test owns and a data directory, so this block exists only when
// the suite runs against the devstack (KAFKA_BROKERS unset); it is not defined for a real Kafka.
if (!usingRealKafka) {
  describe('devstack persistence (dataDir)', () => {
    let dir: string;
    beforeEach(() => {
      dir = mkdtempSync(join(tmpdir(), 'devstack-kafka-'));
    });
    afterEach(() => rmSync(dir, { recursive: true, force: true }));

    it('lets running kafkajs clients carry on after a restart on the same port', async () => {
      const topic = unique('bounce');
      const groupId = unique('bounce-group');
      let broker = await startKafkaDevBroker({ dataDir: dir, defaultPartitions: 1 });
      const port = broker.port;
      const kafka = kafkaClient(broker.brokers);
      const p = kafka.producer();
      await p.connect();
      await p.send({ topic, messages: [{ value: 'one' }, { value: 'two' }] });
      const c = kafka.consumer({ groupId, ...fastConsumer });
      const got = await collect(c, topic);
      try {
        await waitFor(() => got.length >= 2, 'before the restart');
        await broker.stop();
        broker = await startKafkaDevBroker({ dataDir: dir, port });
        await p.send({ topic, messages: [{ value: 'three' }] });
        await waitFor(() => got.some((m) => m.value === 'three'), 'after the restart');
        // At-least-once: a restart may redeliver, but nothing is lost and order holds.
        const values = got.map((m) => m.value);
        expect(values.slice(0, 2)).toEqual(['one', 'two']);
        expect(values.at(-1)).toBe('three');
        expect(got.at(-1)?.offset).toBe(2);
      } finally {
        await c.disconnect();
        await p.disconnect();
        await broker.stop();
      }
    });

    it('keeps messages and committed offsets across a restart', async () => {
      const topic = unique('persist');
      const groupId = unique('persist-group');
      let broker = await startKafkaDevBroker({ dataDir: dir });
      let kafka = kafkaClient(broker.brokers);
      const p1 = kafka.producer();
      await p1.connect();
      await p1.send({
        topic,
        compression: CompressionTypes.GZIP,
        messages: [0, 1, 2, 3].map((i) => ({ key: `k${i}`, value: `before-${i}`, partition: 0 })),
      });
      const c1 = kafka.consumer({ groupId, ...fastConsumer });
      const seen = await collect(c1, topic);
      await waitFor(() => seen.length >= 4, 'first consumption');
      await c1.disconnect();
      await p1.disconnect();
      await broker.stop();

      broker = await startKafkaDevBroker({ dataDir: dir });
      kafka = kafkaClient(broker.brokers);
      const a = kafka.admin();
      await a.connect();
      try {
        const offsets = await a.fetchOffsets({ groupId, topics: [topic] });
        expect(offsets[0]?.partitions.find((p) => p.partition === 0)?.offset).toBe('4');
        const p2 = kafka.producer();
        await p2.connect();
        await p2.send({ topic, messages: [{ key: 'k4', value: 'after-4', partition: 0 }] });
        await p2.disconnect();

        const resumed = kafka.consumer({ groupId, ...fastConsumer });
        const got = await collect(resumed, topic);
        const replay = kafka.consumer({ groupId: unique('replay'), ...fastConsumer });
        const all = await collect(replay, topic);
        await waitFor(() => got.length >= 1 && all.length >= 5, 'consumption after restart');
        expect(got.map((m) => m.value)).toEqual(['after-4']);
        expect(all.filter((m) => m.partition === 0).map((m) => m.value)).toEqual([
          'before-0',
          'before-1',
          'before-2',
          'before-3',
          'after-4',
        ]);
        await resumed.disconnect();
        await replay.disconnect();
      } finally {
        await a.disconnect();
        await broker.stop();
      }
    });
  });
}
