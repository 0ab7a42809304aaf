import { randomUUID } from 'node:crypto';
import { createChannel, createClientFactory, type Channel } from 'nice-grpc';
import {
  ErrorInfo,
  errorDetailsClientMiddleware,
  RetryInfo,
  RichClientError,
} from 'nice-grpc-error-details';
import { notificationV1 } from '@trellis/contracts';
import { startKafkaDevBroker, type KafkaDevBroker } from '@trellis/devstack/kafka';
import { startMongoDevServer, type MongoDevServer } from '@trellis/devstack/mongo';
import { startSmtpSink, type SmtpSink } from '@trellis/devstack/smtp';
import { startNotificationService } from '@trellis/notification-service';
import type { RunningService } from '@trellis/platform/runtime';
import type { KafkaMessage } from 'kafkajs';
import { createKafka } from '@trellis/platform/messaging';
import { captureLogger, waitFor } from '@trellis/platform/testing';
import { loadServiceConfig } from '../src/config';

export interface Infra {
  mongoUri: string;
  brokers: string;
  sink: SmtpSink;
  stop(): Promise<void>;
}

/** MONGODB_URI / KAFKA_BROKERS set: real servers; unset: the devstack servers. Always a fresh sink. */
export async function startInfra(): Promise<Infra> {
  const mongo: MongoDevServer | undefined = process.env.MONGODB_URI
    ? undefined
    : // Test commands on, as in every test devstack: tests may arm the failCommand fail point.
      await startMongoDevServer({ port: 0, enableTestCommands: true });
  const broker: KafkaDevBroker | undefined = process.env.KAFKA_BROKERS
    ? undefined
    : await startKafkaDevBroker({ port: 0 });
  const sink = await startSmtpSink({ port: 0, httpPort: false });
  return {
    mongoUri: process.env.MONGODB_URI ?? mongo!.uri,
    brokers: process.env.KAFKA_BROKERS ?? broker!.brokers.join(','),
    sink,
    async stop() {
      await sink.stop();
      await broker?.stop();
      await mongo?.stop();
    },
  };
}

export type NotificationClient = notificationV1.NotificationServiceClient;

export interface StartedService {
  service: RunningService;
  client: NotificationClient;
  channel: Channel;
  database: string;
  lines: Array<Record<string, unknown>>;
  stop(): Promise<void>;
}

/** The service in-process on port 0 with its own database, fast retries and generous limits. */
export async function startTestService(
  infra: Infra,
  env: Record<string, string> = {},
): Promise<StartedService> {
  const database = `notification_test_${randomUUID().slice(0, 8)}`;
  const config = loadServiceConfig({
    GRPC_HOST: '127.0.0.1',
    GRPC_PORT: '0',
    METRICS_PORT: '0',
    MONGODB_URI: infra.mongoUri,
    MONGODB_DATABASE: database,
    KAFKA_BROKERS: infra.brokers,
    SMTP_URL: infra.sink.url,
    TRACING_ENABLED: 'false',
    EMAIL_RETRY_BASE_MS: '50',
    EMAIL_RETRY_MAX_MS: '400',
    SEND_RATE_PER_SECOND: '0',
    DOMAIN_RATE_PER_SECOND: '0',
    CALLER_RATE_PER_SECOND: '0',
    CAMPAIGN_WORKER_ENABLED: 'false',
    JOB_SERVICE_ADDRESS: '127.0.0.1:1',
    ...env,
  });
  const { logger, lines } = captureLogger('notification-test');
  const service = await startNotificationService(config, { logger });
  const channel = createChannel(service.grpcAddress);
  const client = createClientFactory()
    .use(errorDetailsClientMiddleware)
    .create(notificationV1.NotificationServiceDefinition, channel);
  return {
    service,
    client,
    channel,
    database,
    lines,
    async stop() {
      channel.close();
      await service.stop();
    },
  };
}

/** Sum of a Prometheus counter's samples whose labels include `labels`. */
export async function counterValue(
  metricsUrl: string,
  name: string,
  labels: Record<string, string>,
): Promise<number> {
  const text = await (await fetch(metricsUrl)).text();
  let total = 0;
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${name}{`)) continue;
    if (Object.entries(labels).every(([k, v]) => line.includes(`${k}="${v}"`))) {
      total += Number(line.slice(line.lastIndexOf(' ') + 1));
    }
  }
  return total;
}

/** The google.rpc.ErrorInfo of a failed call, if any. */
export function errorInfo(err: unknown): ErrorInfo | undefined {
  return err instanceof RichClientError
    ? (err.extra.find((d) => d.$type === ErrorInfo.$type) as ErrorInfo | undefined)
    : undefined;
}

/** The google.rpc.RetryInfo of a failed call, if any. */
export function retryInfo(err: unknown): RetryInfo | undefined {
  return err instanceof RichClientError
    ? (err.extra.find((d) => d.$type === RetryInfo.$type) as RetryInfo | undefined)
    : undefined;
}

/** The first record of `topic` with this key (read from the beginning by a throwaway group). */
export async function findRecord(
  brokers: string,
  topic: string,
  key: string,
  timeoutMs = 15_000,
): Promise<KafkaMessage> {
  const kafka = createKafka({
    brokers: brokers.split(','),
    clientId: 'test-reader',
    logger: captureLogger('test-reader').logger,
  });
  const consumer = kafka.consumer({ groupId: `test-reader-${randomUUID()}` });
  let found: KafkaMessage | undefined;
  await consumer.connect();
  try {
    await consumer.subscribe({ topic, fromBeginning: true });
    await consumer.run({
      eachMessage: async ({ message }) => {
        if (message.key?.toString() === key) found ??= message;
      },
    });
    return await waitFor(() => found, { timeoutMs, what: `a ${topic} record with key ${key}` });
  } finally {
    await consumer.disconnect();
  }
}
