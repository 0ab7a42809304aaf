import { randomUUID } from 'node:crypto';
import { Kafka, logLevel } from 'kafkajs';
import { MongoClient } from 'mongodb';
import { ClientError } from 'nice-grpc';
import { BadRequest, ErrorInfo, RichClientError } from 'nice-grpc-error-details';
import {
  accountV1,
  type commonV1,
  decodeEventEnvelope,
  type DecodedEvent,
  unpackEvent,
} from '@trellis/contracts';
import { startAccountService } from '@trellis/account-service';
import { startKafkaDevBroker, type KafkaDevBroker } from '@trellis/devstack/kafka';
import { startMongoDevServer, type MongoDevServer } from '@trellis/devstack/mongo';
import { createGrpcClient, type GrpcClientHandle } from '@trellis/platform/grpc';
import type { RunningService } from '@trellis/platform/runtime';
import { captureLogger, waitFor } from '@trellis/platform/testing';
import { loadServiceConfig } from '../src/config';

export type AccountClient = GrpcClientHandle<typeof accountV1.AccountServiceDefinition>['client'];

/** MONGODB_URI / KAFKA_BROKERS set: real servers; unset: the embedded devstack servers. */
export class Devstack {
  private mongo?: MongoDevServer;
  private broker?: KafkaDevBroker;
  mongoUri = '';
  brokers: string[] = [];

  async start(): Promise<void> {
    // Test commands on, so tests can inject failures with the failCommand fail point.
    this.mongo = process.env.MONGODB_URI
      ? undefined
      : await startMongoDevServer({ port: 0, enableTestCommands: true });
    this.broker = process.env.KAFKA_BROKERS ? undefined : await startKafkaDevBroker({ port: 0 });
    this.mongoUri = process.env.MONGODB_URI ?? this.mongo!.uri;
    this.brokers = process.env.KAFKA_BROKERS?.split(',') ?? this.broker!.brokers;
  }

  async stop(): Promise<void> {
    await this.broker?.stop();
    await this.mongo?.stop();
  }
}

export interface TestService {
  service: RunningService;
  client: AccountClient;
  lines: Array<Record<string, unknown>>;
  stop(): Promise<void>;
}

/** Starts the account-service in-process on port 0 against `database`. */
export async function startTestService(
  stack: Devstack,
  database: string,
  env: Record<string, string> = {},
): Promise<TestService> {
  const config = loadServiceConfig({
    GRPC_HOST: '127.0.0.1',
    GRPC_PORT: '0',
    METRICS_PORT: '0',
    MONGODB_URI: stack.mongoUri,
    MONGODB_DATABASE: database,
    KAFKA_BROKERS: stack.brokers.join(','),
    TRACING_ENABLED: 'false',
    SHUTDOWN_GRACE_MS: '2000',
    ...env,
  });
  const { logger, lines } = captureLogger('account-service');
  const service = await startAccountService(config, { logger });
  const handle = createGrpcClient(accountV1.AccountServiceDefinition, {
    address: service.grpcAddress,
    defaultDeadlineMs: 30_000,
  });
  return {
    service,
    client: handle.client,
    lines,
    async stop() {
      handle.close();
      await service.stop();
    },
  };
}

export const uniqueDatabase = (prefix: string) => `${prefix}_${randomUUID().slice(0, 8)}`;

export async function connectDatabase(stack: Devstack, database: string) {
  const client = new MongoClient(stack.mongoUri, { useBigInt64: true });
  await client.connect();
  return { client, db: client.db(database) };
}

export const eur = (units: bigint | number) => ({ currencyCode: 'EUR', units: BigInt(units) });

let accountCounter = 0;
export async function openAccount(
  client: AccountClient,
  overrides: Partial<accountV1.OpenAccountRequest> = {},
): Promise<accountV1.Account> {
  const n = ++accountCounter;
  const { account } = await client.openAccount({
    ownerName: `Holder ${n}`,
    email: `holder${n}@example.com`,
    currencyCode: 'EUR',
    ...overrides,
  });
  return account!;
}

/** The status code, ErrorInfo reason and BadRequest field names of a failed call. */
export async function failure(call: Promise<unknown>): Promise<{
  code: number;
  reason?: string;
  metadata: Record<string, string>;
  fields: string[];
}> {
  try {
    await call;
  } catch (err) {
    if (!(err instanceof ClientError)) throw err;
    const extra = err instanceof RichClientError ? err.extra : [];
    const info = extra.find((d) => d.$type === ErrorInfo.$type) as ErrorInfo | undefined;
    const bad = extra.find((d) => d.$type === BadRequest.$type) as BadRequest | undefined;
    return {
      code: err.code,
      reason: info?.reason,
      metadata: info?.metadata ?? {},
      fields: bad?.fieldViolations.map((v) => v.field) ?? [],
    };
  }
  throw new Error('expected the call to fail');
}

/** Every ledger entry of an account, newest first, read through ListLedgerEntries pages. */
export async function statement(
  client: AccountClient,
  accountId: string,
  pageSize = 1000,
): Promise<accountV1.LedgerEntry[]> {
  const entries: accountV1.LedgerEntry[] = [];
  let pageToken = '';
  do {
    const page = await client.listLedgerEntries({ accountId, pageSize, pageToken });
    entries.push(...page.entries);
    pageToken = page.nextPageToken;
  } while (pageToken !== '');
  return entries;
}

export function signed(entry: accountV1.LedgerEntry): bigint {
  return entry.direction === accountV1.EntryDirection.ENTRY_DIRECTION_CREDIT
    ? entry.amount!.units
    : -entry.amount!.units;
}

/** Runs `count` tasks with at most `limit` in flight. */
export async function inParallel<T>(
  count: number,
  limit: number,
  task: (i: number) => Promise<T>,
): Promise<T[]> {
  const results: T[] = new Array(count);
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(limit, count) }, async () => {
      while (next < count) {
        const i = next++;
        results[i] = await task(i);
      }
    }),
  );
  return results;
}

export interface TopicRecord {
  key: string;
  partition: number;
  offset: string;
  envelope: commonV1.EventEnvelope;
  event: DecodedEvent;
}

/**
 * Reads a topic from the beginning up to its current end (the high watermark of every partition
 * at the time of the call), decoding each record with the generated types.
 */
export async function readTopic(brokers: string[], topic: string): Promise<TopicRecord[]> {
  const kafka = new Kafka({ brokers, clientId: 'account-test-reader', logLevel: logLevel.NOTHING });
  const admin = kafka.admin();
  await admin.connect();
  const ends = await admin.fetchTopicOffsets(topic);
  await admin.disconnect();
  const remaining = new Map(
    ends.filter((p) => Number(p.high) > Number(p.low)).map((p) => [p.partition, Number(p.high)]),
  );
  const records: TopicRecord[] = [];
  if (remaining.size === 0) return records;
  const consumer = kafka.consumer({
    groupId: `reader-${randomUUID()}`,
    sessionTimeout: 6_000,
    heartbeatInterval: 500,
    maxWaitTimeInMs: 100,
  });
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  const done = new Set<number>();
  await consumer.run({
    eachMessage: async ({ partition, message }) => {
      const end = remaining.get(partition);
      if (end === undefined || Number(message.offset) >= end) return;
      const envelope = decodeEventEnvelope(message.value!);
      records.push({
        key: message.key!.toString(),
        partition,
        offset: message.offset,
        envelope,
        event: unpackEvent(envelope),
      });
      if (Number(message.offset) + 1 >= end) done.add(partition);
    },
  });
  try {
    await waitFor(() => done.size === remaining.size, {
      timeoutMs: 30_000,
      what: `the end of ${topic}`,
    });
  } finally {
    await consumer.disconnect();
  }
  return records;
}
