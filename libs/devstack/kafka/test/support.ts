import { randomUUID } from 'node:crypto';
import {
  type Consumer,
  type ConsumerConfig,
  type EachMessagePayload,
  Kafka,
  logLevel,
} from 'kafkajs';
import { startKafkaDevBroker, type KafkaDevBrokerOptions } from '../src';

/**
 * The suite's target: a real Kafka when KAFKA_BROKERS is set (comma-separated host:port), else an
 * embedded devstack broker started for the test file.
 */
export interface KafkaTarget {
  readonly brokers: string[];
  readonly isDevstack: boolean;
  stop(): Promise<void>;
}

export async function startTarget(options: KafkaDevBrokerOptions = {}): Promise<KafkaTarget> {
  const external = process.env['KAFKA_BROKERS'];
  if (external) {
    return { brokers: external.split(','), isDevstack: false, stop: async () => undefined };
  }
  const broker = await startKafkaDevBroker(options);
  return { brokers: broker.brokers, isDevstack: true, stop: () => broker.stop() };
}

export const usingRealKafka = Boolean(process.env['KAFKA_BROKERS']);

/** Unique per test, so the suite can run against a shared real Kafka. */
export function unique(prefix: string): string {
  return `${prefix}-${randomUUID().slice(0, 8)}`;
}

export function kafkaClient(brokers: string[], clientId = unique('test')): Kafka {
  return new Kafka({
    brokers,
    clientId,
    logLevel: process.env['KAFKAJS_DEBUG'] ? logLevel.DEBUG : logLevel.NOTHING,
    retry: { initialRetryTime: 50, retries: 8 },
  });
}

/** Low timings so rebalances and long polls stay fast (6 s is Kafka's minimum session timeout). */
export const fastConsumer: Omit<ConsumerConfig, 'groupId'> = {
  sessionTimeout: 6000,
  rebalanceTimeout: 10000,
  heartbeatInterval: 300,
  maxWaitTimeInMs: 100,
  retry: { initialRetryTime: 50, retries: 8 },
};

/** Poll `condition` until it holds or the deadline passes; never a blind sleep. */
export async function waitFor(
  condition: () => boolean | Promise<boolean>,
  what: string,
  timeoutMs = 20000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await condition()) return;
    if (Date.now() > deadline)
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

export interface Received {
  readonly partition: number;
  readonly offset: number;
  readonly key: string | null;
  readonly value: string | null;
  readonly headers: Record<string, string | string[]>;
}

export function toReceived({ partition, message }: EachMessagePayload): Received {
  const headers: Record<string, string | string[]> = {};
  for (const [k, v] of Object.entries(message.headers ?? {})) {
    if (v === undefined) continue;
    headers[k] = Array.isArray(v) ? v.map((x) => x.toString()) : v.toString();
  }
  return {
    partition,
    offset: Number(message.offset),
    key: message.key?.toString() ?? null,
    value: message.value?.toString() ?? null,
    headers,
  };
}

/** Start a consumer that records every message; returns the list it appends to. */
export async function collect(
  consumer: Consumer,
  topic: string,
  fromBeginning = true,
): Promise<Received[]> {
  const received: Received[] = [];
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning });
  await consumer.run({
    eachMessage: async (payload) => {
      received.push(toReceived(payload));
    },
  });
  return received;
}

/** Current assignment of a consumer, tracked through GROUP_JOIN events. */
export function trackAssignment(consumer: Consumer): { partitions: number[] } {
  const state = { partitions: [] as number[] };
  consumer.on(consumer.events.GROUP_JOIN, (e) => {
    state.partitions = Object.values(e.payload.memberAssignment).flat().sort();
  });
  return state;
}
