import { jobV1 } from '@trellis/contracts';
import { startKafkaDevBroker, type KafkaDevBroker } from '@trellis/devstack/kafka';
import { startMongoDevServer, type MongoDevServer } from '@trellis/devstack/mongo';
import { createGrpcClient, type GrpcClientHandle } from '@trellis/platform/grpc';
import { captureLogger } from '@trellis/platform/testing';
import type { RunningService } from '@trellis/platform/runtime';
import { startJobService } from '@trellis/job-service';
import { loadServiceConfig } from '../src/config';

export interface Harness {
  service: RunningService;
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
): Promise<Harness> {
  const mongo: MongoDevServer | undefined = process.env.MONGODB_URI
    ? undefined
    : await startMongoDevServer({ port: 0 });
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
    ...extraEnv,
  };
  const { logger } = captureLogger('job-service');
  const service = await startJobService(loadServiceConfig(env), { logger });
  const jobs = createGrpcClient(jobV1.JobServiceDefinition, { address: service.grpcAddress });
  return {
    service,
    jobs,
    mongoUri,
    kafkaBrokers,
    env,
    async stop() {
      jobs.close();
      await service.stop();
      await broker?.stop();
      await mongo?.stop();
    },
  };
}
