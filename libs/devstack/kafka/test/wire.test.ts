/**
 * The devstack broker's own wire behaviour: framing errors, unsupported versions, acks=0,
 * idempotent producers, retention and torn segment files. These test this library, so they always
 * start a devstack broker (they do not read KAFKA_BROKERS).
 */
import { appendFileSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino, { type Logger } from 'pino';
import { type KafkaDevBroker, startKafkaDevBroker } from '../src';
import { Reader } from '../src/protocol/reader';
import { Writer } from '../src/protocol/writer';
import { collect, fastConsumer, kafkaClient, unique, waitFor } from './support';

interface LogLine {
  readonly msg: string;
  readonly [field: string]: unknown;
}

/** A pino logger whose JSON lines are kept for assertions instead of printed. */
function capturingLogger(): { logger: Logger; lines: LogLine[] } {
  const lines: LogLine[] = [];
  const logger = pino(
    { level: 'info' },
    { write: (line: string) => lines.push(JSON.parse(line) as LogLine) },
  );
  return { logger, lines };
}

function quietLogger(): Logger {
  return pino({ level: 'silent' });
}

/** A raw client socket that sends frames and collects response frames. */
class RawClient {
  readonly responses: Buffer[] = [];
  closed = false;
  private buf = Buffer.alloc(0);

  private constructor(readonly socket: Socket) {
    socket.on('data', (d: Buffer) => {
      this.buf = Buffer.concat([this.buf, d]);
      while (this.buf.length >= 4 && this.buf.length >= 4 + this.buf.readInt32BE(0)) {
        const size = this.buf.readInt32BE(0);
        this.responses.push(this.buf.subarray(4, 4 + size));
        this.buf = this.buf.subarray(4 + size);
      }
    });
    socket.on('close', () => (this.closed = true));
    socket.on('error', () => undefined);
  }

  static open(port: number): Promise<RawClient> {
    return new Promise((resolve, reject) => {
      const s = connect(port, '127.0.0.1', () => resolve(new RawClient(s)));
      s.once('error', reject);
    });
  }

  sendRaw(bytes: Buffer): void {
    this.socket.write(bytes);
  }

  /** Header v1 (or v2 with an empty tag section when `flexible`) plus body. */
  send(
    apiKey: number,
    version: number,
    correlationId: number,
    body: Buffer,
    flexible = false,
  ): void {
    const w = new Writer().int16(apiKey).int16(version).int32(correlationId).string('raw');
    if (flexible) w.emptyTaggedFields();
    w.raw(body);
    const payload = w.toBuffer();
    this.sendRaw(Buffer.concat([new Writer().int32(payload.length).toBuffer(), payload]));
  }

  close(): void {
    this.socket.destroy();
  }
}

/** A one-record v2 batch (CRC left 0: neither the broker nor kafkajs checks it). */
function oneRecordBatch(
  value: string,
  producerId = -1,
  baseSequence = -1,
  epoch = 0,
  attributes = 0,
): Buffer {
  const v = Buffer.from(value);
  const record = new Writer()
    .int8(0)
    .uvarint(0)
    .uvarint(0)
    .uvarint(1)
    .uvarint(v.length * 2);
  record.raw(v).uvarint(0);
  const rec = record.toBuffer();
  const records = new Writer()
    .uvarint(rec.length * 2)
    .raw(rec)
    .toBuffer();
  const now = Date.now();
  const w = new Writer()
    .int64(0)
    .int32(49 + records.length)
    .int32(-1)
    .int8(2)
    .int32(0);
  w.int16(attributes).int32(0).int64(now).int64(now).int64(producerId).int16(epoch);
  w.int32(baseSequence);
  return w.int32(1).raw(records).toBuffer();
}

function produceBody(topic: string, acks: number, batch: Buffer): Buffer {
  const w = new Writer().nullableString(null).int16(acks).int32(1000);
  w.array([topic], (w, t) => {
    w.string(t).array([batch], (w, b) => {
      w.int32(0).bytes(b);
    });
  });
  return w.toBuffer();
}

/** Produce v3 response for one partition: [error, baseOffset]. */
function produceResult(frame: Buffer): [number, number] {
  const r = new Reader(frame);
  r.int32(); // correlation id
  const [topic] = r.array((r) => ({
    name: r.string(),
    partitions: r.array((r) => {
      r.int32();
      const error = r.int16();
      const base = r.int64();
      r.int64();
      return [error, base] as [number, number];
    }),
  }));
  return topic?.partitions[0] ?? [-1, -1];
}

describe('devstack wire handling', () => {
  let broker: KafkaDevBroker;
  const logs = capturingLogger();
  beforeAll(async () => {
    broker = await startKafkaDevBroker({ logger: logs.logger });
  });
  const closeReasons = (): string[] =>
    logs.lines.filter((l) => l.msg === 'closing connection').map((l) => String(l['reason']));
  afterAll(() => broker.stop());

  async function othersStillServed(): Promise<void> {
    const admin = kafkaClient(broker.brokers).admin();
    await admin.connect();
    await admin.listTopics();
    await admin.disconnect();
  }

  it('closes only the connection that sent a truncated request', async () => {
    const bad = await RawClient.open(broker.port);
    const good = await RawClient.open(broker.port);
    bad.send(3, 4, 1, new Writer().int32(5).toBuffer()); // Metadata v4 claiming 5 topics
    good.send(18, 2, 7, Buffer.alloc(0));
    await waitFor(() => bad.closed && good.responses.length === 1, 'bad closed, good answered');
    expect(good.closed).toBe(false);
    expect(good.responses[0]?.readInt32BE(0)).toBe(7);
    expect(closeReasons()).toContain('array count 5 exceeds request (Metadata v4)');
    good.close();
    await othersStillServed();
  });

  it('closes on an impossible frame size', async () => {
    const c = await RawClient.open(broker.port);
    c.sendRaw(new Writer().int32(-5).int32(0).toBuffer());
    await waitFor(() => c.closed, 'close');
    expect(closeReasons()).toContain('invalid request size -5');
    await othersStillServed();
  });

  it('closes on an unknown API key or an unimplemented version, like Kafka', async () => {
    const unknownKey = await RawClient.open(broker.port);
    unknownKey.send(43, 0, 1, Buffer.alloc(0)); // ElectLeaders is not implemented
    const oldVersion = await RawClient.open(broker.port);
    oldVersion.send(3, 9, 1, Buffer.alloc(0)); // Metadata v9
    await waitFor(() => unknownKey.closed && oldVersion.closed, 'both closed');
    expect(unknownKey.responses).toHaveLength(0);
    expect(oldVersion.responses).toHaveLength(0);
    expect(closeReasons()).toEqual(
      expect.arrayContaining([
        expect.stringContaining('unsupported API key 43'),
        expect.stringContaining('Metadata v9 is not implemented (only v4-v6)'),
      ]),
    );
  });

  it('answers ApiVersions v3 (flexible) and answers too-new ApiVersions with error 35 in v0 layout', async () => {
    const c = await RawClient.open(broker.port);
    const v3body = new Writer().uvarint(5).raw(Buffer.from('kcat')).uvarint(4);
    v3body.raw(Buffer.from('1.7')).emptyTaggedFields();
    c.send(18, 3, 1, v3body.toBuffer(), true);
    c.send(18, 9, 2, Buffer.alloc(0), true);
    await waitFor(() => c.responses.length === 2, 'two responses');

    const v3 = new Reader(c.responses[0] as Buffer);
    expect(v3.int32()).toBe(1);
    expect(v3.int16()).toBe(0);
    const n = v3.uvarint() - 1;
    const keys: Record<number, number> = {};
    for (let i = 0; i < n; i++) {
      const key = v3.int16();
      v3.int16();
      keys[key] = v3.int16();
      v3.skipTaggedFields();
    }
    // kafkajs 2.2.4's highest versions (it picks min(its max, ours)).
    expect(keys).toMatchObject({
      0: 7,
      1: 11,
      2: 3,
      3: 6,
      8: 5,
      9: 4,
      10: 2,
      11: 5,
      12: 3,
      13: 3,
      14: 3,
      15: 2,
      16: 2,
      18: 3,
      19: 3,
      20: 1,
      21: 1,
      22: 1,
      32: 2,
      33: 1,
      37: 1,
      42: 1,
    });

    const v9 = new Reader(c.responses[1] as Buffer);
    expect(v9.int32()).toBe(2);
    expect(v9.int16()).toBe(35);
    expect(v9.array((r) => [r.int16(), r.int16(), r.int16()]).length).toBe(n);
    c.close();
  });

  it('sends no response to acks=0, deduplicates idempotent retries, rejects sequence gaps', async () => {
    const topic = unique('raw-produce');
    const c = await RawClient.open(broker.port);
    c.send(0, 3, 1, produceBody(topic, 0, oneRecordBatch('fire-and-forget')));
    c.send(0, 3, 2, produceBody(topic, 1, oneRecordBatch('pid-seq0', 77, 0)));
    c.send(0, 3, 3, produceBody(topic, 1, oneRecordBatch('pid-seq0', 77, 0))); // retry
    c.send(0, 3, 4, produceBody(topic, -1, oneRecordBatch('pid-seq5', 77, 5))); // gap
    c.send(0, 3, 5, produceBody(topic, -1, oneRecordBatch('pid-seq1', 77, 1)));
    await waitFor(() => c.responses.length === 4, 'four responses');
    expect(c.responses.map((r) => r.readInt32BE(0))).toEqual([2, 3, 4, 5]);
    expect(c.responses.map(produceResult)).toEqual([
      [0, 1],
      [0, 1],
      [45, -1],
      [0, 2],
    ]);
    c.close();
  });

  it('fences an older producer epoch and requires sequence 0 in a new one, like Kafka', async () => {
    const topic = unique('epochs');
    const c = await RawClient.open(broker.port);
    c.send(0, 3, 1, produceBody(topic, 1, oneRecordBatch('e1-s0', 88, 0, 1)));
    c.send(0, 3, 2, produceBody(topic, 1, oneRecordBatch('e0-s1', 88, 1, 0))); // older epoch
    c.send(0, 3, 3, produceBody(topic, 1, oneRecordBatch('e2-s4', 88, 4, 2))); // new epoch, seq 4
    c.send(0, 3, 4, produceBody(topic, 1, oneRecordBatch('e2-s0', 88, 0, 2)));
    // A producer id the partition has never seen may start anywhere (KIP-360).
    c.send(0, 3, 5, produceBody(topic, 1, oneRecordBatch('new-s9', 99, 9)));
    await waitFor(() => c.responses.length === 5, 'five responses');
    expect(c.responses.map(produceResult)).toEqual([
      [0, 0],
      [47, -1],
      [45, -1],
      [0, 1],
      [0, 2],
    ]);
    c.close();
  });

  it('answers ListOffsets v0 with an offset list', async () => {
    const topic = unique('lo-v0');
    const c = await RawClient.open(broker.port);
    c.send(0, 3, 1, produceBody(topic, 1, oneRecordBatch('one')));
    const body = new Writer().int32(-1);
    body.array([topic], (w, t) => {
      w.string(t).array([0], (w, p) => w.int32(p).int64(-1).int32(1));
    });
    c.send(2, 0, 2, body.toBuffer());
    await waitFor(() => c.responses.length === 2, 'two responses');
    const r = new Reader(c.responses[1] as Buffer);
    expect(r.int32()).toBe(2);
    const [t] = r.array((r) => ({
      name: r.string(),
      partitions: r.array((r) => [r.int32(), r.int16(), r.array((r) => r.int64())]),
    }));
    expect(t).toEqual({ name: topic, partitions: [[0, 0, [1]]] });
    c.close();
  });

  it('answers Produce v7 with log_start_offset', async () => {
    const topic = unique('produce-v7');
    const c = await RawClient.open(broker.port);
    c.send(0, 7, 1, produceBody(topic, 1, oneRecordBatch('v7')));
    await waitFor(() => c.responses.length === 1, 'one response');
    const r = new Reader(c.responses[0] as Buffer);
    expect(r.int32()).toBe(1);
    const [t] = r.array((r) => ({
      name: r.string(),
      partitions: r.array((r) => [r.int32(), r.int16(), r.int64(), r.int64(), r.int64()]),
    }));
    expect(t).toEqual({ name: topic, partitions: [[0, 0, 0, -1, 0]] });
    expect(r.int32()).toBe(0); // throttle_time_ms
    c.close();
  });

  it('stores kafkajs sends with acks=0 and acks=-1', async () => {
    const topic = unique('acks0');
    const kafka = kafkaClient(broker.brokers);
    const producer = kafka.producer();
    const admin = kafka.admin();
    await Promise.all([producer.connect(), admin.connect()]);
    await producer.send({ topic, acks: 0, messages: [{ value: 'x', partition: 0 }] });
    await producer.send({ topic, acks: -1, messages: [{ value: 'y', partition: 0 }] });
    const offsets = await admin.fetchTopicOffsets(topic);
    expect(offsets.find((o) => o.partition === 0)?.high).toBe('2');
    await Promise.all([producer.disconnect(), admin.disconnect()]);
  });

  it('serves idempotent producers (InitProducerId, sequence numbers)', async () => {
    const topic = unique('idempotent');
    const kafka = kafkaClient(broker.brokers);
    // The outbox relay's settings (libs/platform/runtime/src/start-service.ts).
    const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
    const requests: string[] = [];
    producer.on(producer.events.REQUEST, (e) => {
      requests.push(`${e.payload.apiName} v${e.payload.apiVersion}`);
    });
    await producer.connect();
    for (let i = 0; i < 3; i++) {
      await producer.send({ topic, messages: [{ value: `m${i}`, partition: 0 }] });
    }
    await producer.disconnect();
    expect(requests).toContain('InitProducerId v1');
    expect(requests).toContain('Produce v7');
    const consumer = kafka.consumer({ groupId: unique('idem'), ...fastConsumer });
    const got = await collect(consumer, topic);
    await waitFor(() => got.length >= 3, 'three messages');
    expect(got.map((m) => m.value)).toEqual(['m0', 'm1', 'm2']);
    await consumer.disconnect();
  });
});

describe('devstack addresses', () => {
  it('advertises a connectable address when bound to a wildcard interface', async () => {
    const broker = await startKafkaDevBroker({ host: '0.0.0.0', logger: quietLogger() });
    try {
      expect(broker.brokers).toEqual([`127.0.0.1:${broker.port}`]);
      const admin = kafkaClient(broker.brokers).admin();
      await admin.connect();
      const { brokers } = await admin.describeCluster();
      expect(brokers).toEqual([{ nodeId: 0, host: '127.0.0.1', port: broker.port }]);
      await admin.disconnect();
    } finally {
      await broker.stop();
    }
  });
});

describe('devstack retention and recovery', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'devstack-kafka-ret-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('deletes old segments by size and advances the log start offset', async () => {
    const broker = await startKafkaDevBroker({
      dataDir: dir,
      segmentBytes: 1000,
      retentionBytes: 3000,
      defaultPartitions: 1,
      logger: quietLogger(),
    });
    const kafka = kafkaClient(broker.brokers);
    const topic = unique('retention');
    const groupId = unique('ret-group');
    const producer = kafka.producer();
    const admin = kafka.admin();
    try {
      await Promise.all([producer.connect(), admin.connect()]);
      const sendOne = (i: number) =>
        producer.send({ topic, messages: [{ value: `${i}:${'x'.repeat(400)}` }] });
      for (let i = 0; i < 5; i++) await sendOne(i);
      // The group commits offset 5, then the log moves on and retention drops offset 5.
      const first = kafka.consumer({ groupId, ...fastConsumer });
      const seen = await collect(first, topic);
      await waitFor(() => seen.length >= 5, 'first five');
      await first.disconnect();
      for (let i = 5; i < 20; i++) await sendOne(i);
      broker.enforceRetention();
      const [offsets] = await admin.fetchTopicOffsets(topic);
      const low = Number(offsets?.low);
      expect(low).toBeGreaterThan(5);
      expect(offsets?.high).toBe('20');
      const segments = readdirSync(join(dir, 'topics', topic, '0'));
      expect(segments.length).toBeLessThan(10);
      expect(Number(segments[0]?.replace('.log', ''))).toBe(low);

      // Fetching offset 5 now gets OFFSET_OUT_OF_RANGE; kafkajs resets to the earliest offset.
      const again = kafka.consumer({ groupId, ...fastConsumer });
      const got = await collect(again, topic, true);
      await waitFor(() => got.length >= 20 - low, 'the retained messages');
      expect(got[0]?.offset).toBe(low);
      await again.disconnect();
    } finally {
      await Promise.all([producer.disconnect(), admin.disconnect()]);
      await broker.stop();
    }
  });

  it('deletes segments older than retention.ms', async () => {
    const broker = await startKafkaDevBroker({
      segmentBytes: 1,
      retentionMs: 60000,
      logger: quietLogger(),
    });
    const kafka = kafkaClient(broker.brokers);
    const topic = unique('time-retention');
    const admin = kafka.admin();
    const producer = kafka.producer();
    await Promise.all([producer.connect(), admin.connect()]);
    await admin.createTopics({ topics: [{ topic, numPartitions: 1 }] });
    const old = String(Date.now() - 3600000);
    for (let i = 0; i < 3; i++) {
      await producer.send({ topic, messages: [{ value: `old${i}`, timestamp: old }] });
    }
    await producer.send({ topic, messages: [{ value: 'fresh' }] });
    broker.enforceRetention();
    try {
      const [offsets] = await admin.fetchTopicOffsets(topic);
      expect(offsets).toMatchObject({ low: '3', high: '4' });
    } finally {
      await Promise.all([producer.disconnect(), admin.disconnect()]);
      await broker.stop();
    }
  });

  it('keeps idempotent-producer state across a restart: a retried batch is not appended twice', async () => {
    const topic = unique('idem-restart');
    let broker = await startKafkaDevBroker({
      dataDir: dir,
      defaultPartitions: 1,
      logger: quietLogger(),
    });
    let c = await RawClient.open(broker.port);
    c.send(0, 3, 1, produceBody(topic, -1, oneRecordBatch('s0', 4242, 0)));
    c.send(0, 3, 2, produceBody(topic, -1, oneRecordBatch('s1', 4242, 1)));
    await waitFor(() => c.responses.length === 2, 'two responses');
    expect(c.responses.map(produceResult)).toEqual([
      [0, 0],
      [0, 1],
    ]);
    c.close();
    await broker.stop();

    // The response to s1 was "lost": the producer retries it against the restarted broker.
    broker = await startKafkaDevBroker({ dataDir: dir, logger: quietLogger() });
    c = await RawClient.open(broker.port);
    c.send(0, 3, 1, produceBody(topic, -1, oneRecordBatch('s1', 4242, 1)));
    c.send(0, 3, 2, produceBody(topic, -1, oneRecordBatch('s3', 4242, 3)));
    c.send(0, 3, 3, produceBody(topic, -1, oneRecordBatch('s2', 4242, 2)));
    await waitFor(() => c.responses.length === 3, 'three responses');
    expect(c.responses.map(produceResult)).toEqual([
      [0, 1],
      [45, -1],
      [0, 2],
    ]);
    c.close();
    const admin = kafkaClient(broker.brokers).admin();
    await admin.connect();
    const [p0] = await admin.fetchTopicOffsets(topic);
    expect(p0?.high).toBe('3');
    await admin.disconnect();
    await broker.stop();
  });

  it('aborts a transaction left open by the previous run, so read_committed readers move on', async () => {
    const topic = unique('dangling-txn');
    let broker = await startKafkaDevBroker({
      dataDir: dir,
      defaultPartitions: 1,
      logger: quietLogger(),
    });
    const c = await RawClient.open(broker.port);
    const transactional = 0x10;
    c.send(0, 3, 1, produceBody(topic, -1, oneRecordBatch('open', 5150, 0, 0, transactional)));
    await waitFor(() => c.responses.length === 1, 'produce response');
    expect(produceResult(c.responses[0] as Buffer)).toEqual([0, 0]);
    c.close();
    await broker.stop();

    broker = await startKafkaDevBroker({ dataDir: dir, logger: quietLogger() });
    const kafka = kafkaClient(broker.brokers);
    const producer = kafka.producer();
    await producer.connect();
    await producer.send({ topic, messages: [{ value: 'after' }] });
    await producer.disconnect();
    const consumer = kafka.consumer({ groupId: unique('dangling'), ...fastConsumer });
    const got = await collect(consumer, topic); // kafkajs reads read_committed by default
    await waitFor(() => got.length >= 1, 'the message after the aborted transaction');
    expect(got.map((m) => m.value)).toEqual(['after']);
    await consumer.disconnect();
    await broker.stop();
  });

  it('truncates a torn trailing batch of a segment file on start', async () => {
    const logs = capturingLogger();
    let broker = await startKafkaDevBroker({
      dataDir: dir,
      defaultPartitions: 1,
      logger: logs.logger,
    });
    const topic = unique('torn');
    let kafka = kafkaClient(broker.brokers);
    const producer = kafka.producer();
    await producer.connect();
    await producer.send({ topic, messages: [{ value: 'a' }, { value: 'b' }] });
    await producer.disconnect();
    await broker.stop();
    const segDir = join(dir, 'topics', topic, '0');
    const [segment] = readdirSync(segDir);
    appendFileSync(join(segDir, segment as string), Buffer.from([0, 0, 0, 0, 0, 0, 0, 2, 0, 0]));

    broker = await startKafkaDevBroker({ dataDir: dir, logger: logs.logger });
    expect(logs.lines.some((l) => l.msg.includes('truncating 10 torn trailing bytes'))).toBe(true);
    kafka = kafkaClient(broker.brokers);
    const p2 = kafka.producer();
    await p2.connect();
    const [res] = await p2.send({ topic, messages: [{ value: 'c' }] });
    expect(res?.baseOffset).toBe('2');
    await p2.disconnect();
    await broker.stop();
  });
});
