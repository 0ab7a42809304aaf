/**
 * Devstack Kafka benchmark (printed, not asserted):
 *   npx tsx bench/devstack-kafka/run.ts
 *
 * - produce throughput: 1 KiB messages, kafkajs batches of BATCH messages, acks=1
 * - consume throughput: one consumer-group member reading them back from the beginning
 * - end-to-end latency: one message at a time, send → eachMessage, p50/p99
 *
 * The broker runs in its own process (src/main.ts on an ephemeral port) so client and broker do
 * not share an event loop. Set KAFKA_BROKERS to measure a real Kafka instead.
 * Knobs: BENCH_MESSAGES (default 50000), BENCH_BATCH (500), BENCH_LATENCY_SAMPLES (1000).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { Kafka, logLevel } from 'kafkajs';
import { percentile } from '../support/percentile';

const MESSAGES = Number(process.env['BENCH_MESSAGES'] ?? 50000);
const BATCH = Number(process.env['BENCH_BATCH'] ?? 500);
const LATENCY_SAMPLES = Number(process.env['BENCH_LATENCY_SAMPLES'] ?? 1000);
const MESSAGE_BYTES = 1024;

async function startBrokerProcess(): Promise<{ brokers: string[]; child: ChildProcess }> {
  const main = join(__dirname, '../../libs/devstack/kafka/src/main.ts');
  const child = spawn(process.execPath, ['--import', 'tsx', main], {
    env: { ...process.env, KAFKA_DEVSTACK_PORT: '0', LOG_LEVEL: 'info' },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  return new Promise((resolve, reject) => {
    let out = '';
    child.stdout?.on('data', (d: Buffer) => {
      out += d.toString();
      const match = /"brokers":"([^"]+)"/.exec(out);
      if (match?.[1]) resolve({ brokers: match[1].split(','), child });
    });
    child.once('exit', (code) => reject(new Error(`broker exited with ${code}: ${out}`)));
  });
}

function mbps(bytes: number, ms: number): string {
  return (bytes / (1024 * 1024) / (ms / 1000)).toFixed(1);
}

async function main(): Promise<void> {
  const external = process.env['KAFKA_BROKERS'];
  const broker = external ? null : await startBrokerProcess();
  const brokers = external ? external.split(',') : (broker?.brokers ?? []);
  const kafka = new Kafka({ brokers, clientId: 'bench', logLevel: logLevel.NOTHING });
  const admin = kafka.admin();
  const producer = kafka.producer();
  await Promise.all([admin.connect(), producer.connect()]);
  const topic = `bench-${randomUUID().slice(0, 8)}`;
  await admin.createTopics({ topics: [{ topic, numPartitions: 3 }] });
  const value = Buffer.alloc(MESSAGE_BYTES, 'x');

  // ---- produce throughput
  let t = performance.now();
  for (let sent = 0; sent < MESSAGES; sent += BATCH) {
    const n = Math.min(BATCH, MESSAGES - sent);
    await producer.send({
      topic,
      acks: 1,
      messages: Array.from({ length: n }, (_, i) => ({ key: String(sent + i), value })),
    });
  }
  const produceMs = performance.now() - t;

  // ---- consume throughput
  const consumer = kafka.consumer({
    groupId: `bench-${randomUUID().slice(0, 8)}`,
    maxWaitTimeInMs: 100,
    sessionTimeout: 10000,
    heartbeatInterval: 1000,
  });
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  let consumed = 0;
  let consumeStart = 0;
  const allConsumed = new Promise<void>((resolve) => {
    void consumer.run({
      eachBatchAutoResolve: true,
      eachBatch: async ({ batch }) => {
        if (consumeStart === 0) consumeStart = performance.now();
        consumed += batch.messages.length;
        if (consumed >= MESSAGES) resolve();
      },
    });
  });
  t = performance.now();
  await allConsumed;
  const consumeMs = performance.now() - consumeStart;
  const consumeWithJoinMs = performance.now() - t;
  await consumer.disconnect();

  // ---- end-to-end latency
  const latTopic = `${topic}-latency`;
  await admin.createTopics({ topics: [{ topic: latTopic, numPartitions: 1 }] });
  const latConsumer = kafka.consumer({
    groupId: `bench-lat-${randomUUID().slice(0, 8)}`,
    maxWaitTimeInMs: 500,
    sessionTimeout: 10000,
    heartbeatInterval: 1000,
  });
  await latConsumer.connect();
  await latConsumer.subscribe({ topic: latTopic, fromBeginning: true });
  let waiting: ((receivedAt: number) => void) | null = null;
  await latConsumer.run({
    eachMessage: async () => {
      waiting?.(performance.now());
    },
  });
  const samples: number[] = [];
  for (let i = 0; i < LATENCY_SAMPLES + 20; i++) {
    const received = new Promise<number>((resolve) => (waiting = resolve));
    const sentAt = performance.now();
    await producer.send({ topic: latTopic, acks: 1, messages: [{ value }] });
    const at = await received;
    if (i >= 20) samples.push(at - sentAt); // the first ones include the group join
  }
  await latConsumer.disconnect();
  samples.sort((a, b) => a - b);

  const bytes = MESSAGES * MESSAGE_BYTES;
  console.log(
    `target: ${external ? `Kafka at ${external}` : `devstack broker (own process) ${brokers[0]}`}`,
  );
  console.log(
    `messages: ${MESSAGES} x ${MESSAGE_BYTES} B, kafkajs batches of ${BATCH}, 3 partitions`,
  );
  console.log(
    `produce: ${Math.round(MESSAGES / (produceMs / 1000))} msgs/s, ${mbps(bytes, produceMs)} MB/s (${produceMs.toFixed(0)} ms)`,
  );
  console.log(
    `consume: ${Math.round(MESSAGES / (consumeMs / 1000))} msgs/s, ${mbps(bytes, consumeMs)} MB/s (${consumeMs.toFixed(0)} ms after the first batch; ${consumeWithJoinMs.toFixed(0)} ms including group join)`,
  );
  console.log(
    `end-to-end latency (${samples.length} sequential sends): p50 ${percentile(samples, 50).toFixed(2)} ms, p99 ${percentile(samples, 99).toFixed(2)} ms, max ${(samples.at(-1) ?? NaN).toFixed(2)} ms`,
  );

  await Promise.all([producer.disconnect(), admin.disconnect()]);
  broker?.child.kill('SIGTERM');
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
