import { startAccountService } from '@trellis/account-service';
import { startJobService } from '@trellis/job-service';
import { loadConfig } from '@trellis/platform/config';
import type { RunningService } from '@trellis/platform/runtime';
import { serviceConfigShape } from '@trellis/platform/runtime';
import { captureLogger } from '@trellis/platform/testing';
import type { Infra } from './support';

type AccountConfig = Parameters<typeof startAccountService>[0];
type JobConfig = Parameters<typeof startJobService>[0];

// The apps' own config loaders live in their config.ts, which only they import; tests build the
// same typed config from the shared shape plus each service's own settings (as an operator would
// set them in the environment).
function baseConfig(infra: Infra, database: string) {
  return loadConfig(serviceConfigShape({ grpcPort: 0, metricsPort: 0, database }), {
    GRPC_HOST: '127.0.0.1',
    MONGODB_URI: infra.mongoUri,
    KAFKA_BROKERS: infra.brokers,
    TRACING_ENABLED: 'false',
    LOG_LEVEL: 'warn',
  });
}

/** The account-service in-process (port 0, own database). */
export function startAccountServiceForTest(
  infra: Infra,
  database: string,
): Promise<RunningService> {
  const config: AccountConfig = {
    ...baseConfig(infra, database),
    ACCOUNT_MAX_AMOUNT_UNITS: 100_000_000_000n,
    ACCOUNT_IDEMPOTENCY_TTL_SECONDS: 7 * 24 * 3600,
  };
  return startAccountService(config, { logger: captureLogger('account-service').logger });
}

/** The job-service in-process with the `email.campaign` type declared (fast backoff for tests). */
export function startJobServiceForTest(infra: Infra, database: string): Promise<RunningService> {
  const config: JobConfig = {
    ...baseConfig(infra, database),
    JOB_TYPES: [
      {
        name: 'email.campaign',
        description: 'Sends one bulk email campaign of the notification-service.',
        payloadSchema: {
          type: 'object',
          required: ['campaign_id'],
          properties: { campaign_id: { type: 'string', minLength: 1 } },
        },
        maxPayloadBytes: 256 * 1024,
        defaultMaxAttempts: 3,
        defaultLeaseMs: 10_000,
        defaultBackoff: { initialDelayMs: 100, maxDelayMs: 1_000, multiplier: 2, jitter: 0 },
      },
    ],
    REAPER_INTERVAL_MS: 200,
    CLAIM_POLL_INTERVAL_MS: 50,
    CLAIM_CANDIDATE_TTL_MS: 50,
    SCHEDULE_TICK_INTERVAL_MS: 1_000,
    SCHEDULE_TICK_MAX_IDLE_MS: 30_000,
    JOB_TYPES_REFRESH_MS: 1_000,
    JOB_TYPES_REFRESH_MAX_MS: 10_000,
    JOB_LOG_MAX_LINES: 1_000,
    JOB_LOG_MAX_BYTES: 256 * 1024,
    JOB_RETENTION: {
      SUCCEEDED: { maxAgeMs: 86_400_000, maxCount: 10_000 },
      DEAD: { maxAgeMs: 14 * 86_400_000, maxCount: 100_000 },
      CANCELLED: { maxAgeMs: 7 * 86_400_000, maxCount: 10_000 },
    },
    JOB_RETENTION_INTERVAL_MS: 60_000,
  };
  return startJobService(config, { logger: captureLogger('job-service').logger });
}
