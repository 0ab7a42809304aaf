/**
 * Interop with a client nobody here wrote: Debian's kcat (librdkafka 2.0.x). kcat runs as a child
 * process (asynchronously: the devstack broker lives in this process's event loop). Runs against
 * a real Kafka too when KAFKA_BROKERS is set.
 */
import { spawn } from 'node:child_process';
import { type Admin, type Producer, Partitioners } from 'kafkajs';
import {
  type KafkaTarget,
  collect,
  fastConsumer,
  kafkaClient,
  startTarget,
  unique,
  waitFor,
} from './support';

interface KcatResult {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

function kcat(args: string[], input?: string, timeoutMs = 20000): Promise<KcatResult> {
  return new Promise((resolve, reject) => {
    const child = spawn('kcat', ['-b', target.brokers.join(','), ...args], {
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`kcat ${args.join(' ')} timed out; stderr: ${stderr}`));
    }, timeoutMs);
    child.on('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
    child.stdin.end(input ?? '');
  });
}

let target: KafkaTarget;
let admin: Admin;
let producer: Producer;

beforeAll(async () => {
  target = await startTarget();
  const kafka = kafkaClient(target.brokers);
  admin = kafka.admin();
  producer = kafka.producer({ createPartitioner: Partitioners.DefaultPartitioner });
  await admin.connect();
  await producer.connect();
});

afterAll(async () => {
  await producer.disconnect();
  await admin.disconnect();
  await target.stop();
});

describe('kcat (librdkafka) interop', () => {
  it('lists metadata (-L) with the advertised broker address and partitions', async () => {
    const topic = unique('kcat-meta');
    await admin.createTopics({ topics: [{ topic, numPartitions: 3 }] });
    const res = await kcat(['-L', '-J', '-t', topic]);
    expect(res.code).toBe(0);
    const meta = JSON.parse(res.stdout) as {
      brokers: { id: number; name: string }[];
      topics: { topic: string; partitions: { partition: number; leader: number }[] }[];
    };
    expect(meta.brokers.map((b) => b.name)).toEqual(expect.arrayContaining([target.brokers[0]]));
    expect(meta.topics[0]?.topic).toBe(topic);
    expect(meta.topics[0]?.partitions.map((p) => p.partition).sort()).toEqual([0, 1, 2]);
  });

  it('produces keyed messages (-P) that kafkajs consumes in per-key order', async () => {
    const topic = unique('kcat-produce');
    await admin.createTopics({ topics: [{ topic, numPartitions: 3 }] });
    const lines = [0, 1, 2].flatMap((round) =>
      ['a', 'b', 'c', 'd'].map((k) => `${k}:${k}${round}`),
    );
    const res = await kcat(['-P', '-t', topic, '-K:'], lines.join('\n') + '\n');
    expect(res.code).toBe(0);
    const consumer = kafkaClient(target.brokers).consumer({
      groupId: unique('kcat-g'),
      ...fastConsumer,
    });
    const received = await collect(consumer, topic);
    try {
      await waitFor(() => received.length >= lines.length, 'kcat messages in kafkajs');
      for (const k of ['a', 'b', 'c', 'd']) {
        const mine = received.filter((m) => m.key === k);
        expect(mine.map((m) => m.value)).toEqual([`${k}0`, `${k}1`, `${k}2`]);
        expect(new Set(mine.map((m) => m.partition)).size).toBe(1);
      }
    } finally {
      await consumer.disconnect();
    }
  });

  it('consumes (-C) what kafkajs produced, keys and headers included', async () => {
    const topic = unique('kcat-consume');
    await admin.createTopics({ topics: [{ topic, numPartitions: 1 }] });
    await producer.send({
      topic,
      messages: [
        { key: 'k1', value: 'v1', headers: { h: 'x' } },
        { key: 'k2', value: 'v2' },
      ],
    });
    const res = await kcat([
      '-C',
      '-t',
      topic,
      '-o',
      'beginning',
      '-e',
      '-f',
      '%p/%o %k=%s [%h]\n',
    ]);
    expect(res.code).toBe(0);
    expect(res.stdout.trim().split('\n')).toEqual(['0/0 k1=v1 [h=x]', '0/1 k2=v2 []']);
  });

  it('starts at an offset looked up by timestamp (-o s@ts)', async () => {
    const topic = unique('kcat-time');
    await admin.createTopics({ topics: [{ topic, numPartitions: 1 }] });
    const t0 = Date.now();
    await producer.send({
      topic,
      messages: [
        { value: 't-60s', timestamp: String(t0 - 60000) },
        { value: 't-30s', timestamp: String(t0 - 30000) },
        { value: 't-0s', timestamp: String(t0) },
      ],
    });
    const res = await kcat(['-C', '-t', topic, '-o', `s@${t0 - 45000}`, '-e', '-f', '%o:%s\n']);
    expect(res.code).toBe(0);
    expect(res.stdout.trim().split('\n')).toEqual(['1:t-30s', '2:t-0s']);
  });

  it('round-trips librdkafka-compressed batches (gzip and lz4) verbatim', async () => {
    const topic = unique('kcat-codec');
    await admin.createTopics({ topics: [{ topic, numPartitions: 1 }] });
    const gz = await kcat(['-P', '-t', topic, '-z', 'gzip'], 'g1\ng2\ng3\n');
    const lz = await kcat(['-P', '-t', topic, '-z', 'lz4'], 'l1\nl2\n');
    expect([gz.code, lz.code]).toEqual([0, 0]);
    const res = await kcat(['-C', '-t', topic, '-o', 'beginning', '-e', '-f', '%o:%s\n']);
    expect(res.stdout.trim().split('\n')).toEqual(['0:g1', '1:g2', '2:g3', '3:l1', '4:l2']);
  });

  it('consumes as a group member (-G) and commits its offsets', async () => {
    const topic = unique('kcat-group');
    const groupId = unique('kcat-group');
    await admin.createTopics({ topics: [{ topic, numPartitions: 2 }] });
    const values = Array.from({ length: 10 }, (_, i) => `g${i}`);
    await producer.send({ topic, messages: values.map((value) => ({ key: value, value })) });
    const res = await kcat([
      '-G',
      groupId,
      '-X',
      'auto.offset.reset=earliest',
      '-e',
      '-f',
      '%s\n',
      topic,
    ]);
    expect(res.code).toBe(0);
    expect(res.stdout.trim().split('\n').sort()).toEqual([...values].sort());
    const ends = await admin.fetchTopicOffsets(topic);
    await waitFor(async () => {
      const committed = await admin.fetchOffsets({ groupId, topics: [topic] });
      return ends.every(
        (e) => committed[0]?.partitions.find((p) => p.partition === e.partition)?.offset === e.high,
      );
    }, 'kcat group offsets committed');
  });
});
