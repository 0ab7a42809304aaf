import { BadRequest, ErrorInfo, RichClientError } from 'nice-grpc-error-details';
import { jobV1, topics, type DecodedEvent } from '@trellis/contracts';
import { startKafkaDevBroker, type KafkaDevBroker } from '@trellis/devstack/kafka';
import { startMongoDevServer, type MongoDevServer } from '@trellis/devstack/mongo';
import { createGrpcClient, type GrpcClientHandle } from '@trellis/platform/grpc';
import { startEventConsumer, type EventConsumer } from '@trellis/platform/messaging';
import { captureLogger, waitFor } from '@trellis/platform/testing';
import type { RunningService } from '@trellis/platform/runtime';
import { startJobService, type JobServiceOptions } from '@trellis/job-service';
import { loadServiceConfig } from '../src/config';

/** One event read back from job.events.v1. */
export interface PublishedEvent {
  eventId: string;
  jobId: string;
  event: DecodedEvent;
}

export interface Harness {
  service: RunningService;
  /** Everything published to job.events.v1 so far, in consumption order (one partition). */
  events: PublishedEvent[];
  /** The job's distinct events once at least `count` arrived (the relay publishes asynchronously). */
  eventsOf(jobId: string, count: number): Promise<DecodedEvent[]>;
  jobs: GrpcClientHandle<typeof jobV1.JobServiceDefinition>;
  mongoUri: string;
  kafkaBrokers: string;
  env: Record<string, string>;
  stop(): Promise<void>;
}

/** Test job types: short leases and backoffs so the suite stays fast. */
export const TEST_JOB_TYPES = [
  {
    name: 'test.work',
    payload_schema: {
      type: 'object',
      required: ['n'],
      properties: { n: { type: 'integer' }, sleep_ms: { type: 'integer' } },
    },
    max_attempts: 3,
    lease_seconds: 2,
    backoff: { initial_delay_seconds: 0.2, max_delay_seconds: 1, multiplier: 2, jitter: 0 },
  },
  {
    name: 'test.bulk',
    payload_schema: { type: 'object', required: ['n'] },
    max_attempts: 3,
    lease_seconds: 15,
  },
  {
    name: 'test.sdk',
    payload_schema: { type: 'object' },
    max_attempts: 2,
    lease_seconds: 1,
    backoff: { initial_delay_seconds: 0.1, max_delay_seconds: 1, multiplier: 2, jitter: 0 },
  },
  {
    name: 'test.batch',
    max_attempts: 3,
    lease_seconds: 30,
  },
  {
    name: 'test.other',
    max_attempts: 3,
    lease_seconds: 5,
    max_payload_bytes: 64,
  },
];

/** Devstack MongoDB + Kafka (or MONGODB_URI / KAFKA_BROKERS) and an in-process job-service. */
export async function startHarness(
  database: string,
  extraEnv: Record<string, string> = {},
  options: Pick<JobServiceOptions, 'runtime'> = {},
): Promise<Harness> {
  const mongo: MongoDevServer | undefined = process.env.MONGODB_URI
    ? undefined
    : // Test commands on, as in every test devstack: tests may arm the failCommand fail point.
      await startMongoDevServer({ port: 0, enableTestCommands: true });
  const broker: KafkaDevBroker | undefined = process.env.KAFKA_BROKERS
    ? undefined
    : await startKafkaDevBroker({ port: 0 });
  const mongoUri = process.env.MONGODB_URI ?? mongo!.uri;
  const kafkaBrokers = process.env.KAFKA_BROKERS ?? broker!.brokers.join(',');
  const env = {
    GRPC_HOST: '127.0.0.1',
    GRPC_PORT: '0',
    METRICS_PORT: '0',
    MONGODB_URI: mongoUri,
    MONGODB_DATABASE: database,
    KAFKA_BROKERS: kafkaBrokers,
    TRACING_ENABLED: 'false',
    LOG_LEVEL: 'warn',
    JOB_TYPES: JSON.stringify(TEST_JOB_TYPES),
    REAPER_INTERVAL_MS: '200',
    CLAIM_POLL_INTERVAL_MS: '100',
    // As before the two were separate settings, when the poll interval was the candidates' lifetime too.
    CLAIM_CANDIDATE_TTL_MS: '100',
    ...extraEnv,
  };
  const { logger } = captureLogger('job-service');
  const service = await startJobService(loadServiceConfig(env), { ...options, logger });
  const jobs = createGrpcClient(jobV1.JobServiceDefinition, { address: service.grpcAddress });
  const events: PublishedEvent[] = [];
  const { kafka, producer } = service.context;
  const admin = kafka.admin();
  await admin.connect();
  await admin.createTopics({ topics: [{ topic: topics.jobEvents, numPartitions: 1 }] });
  await admin.disconnect();
  const consumer: EventConsumer = await startEventConsumer({
    kafka,
    producer,
    groupId: `${database}-events`,
    topics: [topics.jobEvents],
    logger,
    fromBeginning: true,
    sessionTimeoutMs: 6_000,
    heartbeatIntervalMs: 500,
    maxWaitTimeInMs: 100,
    async handle({ event, envelope }) {
      events.push({ eventId: envelope.eventId, jobId: envelope.aggregateId, event });
    },
  });
  const eventsOf = async (jobId: string, count: number) => {
    const distinct = () => {
      const seen = new Set<string>();
      return events.filter((e) => e.jobId === jobId && !seen.has(e.eventId) && seen.add(e.eventId));
    };
    await waitFor(() => distinct().length >= count, {
      what: `${count} events of job ${jobId} on ${topics.jobEvents}`,
    });
    return distinct().map((e) => e.event);
  };
  return {
    service,
    events,
    eventsOf,
    jobs,
    mongoUri,
    kafkaBrokers,
    env,
    async stop() {
      await consumer.stop();
      jobs.close();
      await service.stop();
      await broker?.stop();
      await mongo?.stop();
    },
  };
}

/** The RichClientError `call` fails with (the test fails if it succeeds). */
export async function rpcError(call: Promise<unknown>): Promise<RichClientError> {
  const err = await call.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(RichClientError);
  return err as RichClientError;
}

/** The ErrorInfo reason of an error, e.g. LEASE_LOST. */
export function reasonOf(err: RichClientError): string | undefined {
  return (err.extra.find((d) => d.$type === ErrorInfo.$type) as ErrorInfo | undefined)?.reason;
}

/** The fields a BadRequest of an error names. */
export function fieldsOf(err: RichClientError): string[] {
  const bad = err.extra.find((d) => d.$type === BadRequest.$type) as BadRequest | undefined;
  return bad?.fieldViolations.map((v) => v.field) ?? [];
}
