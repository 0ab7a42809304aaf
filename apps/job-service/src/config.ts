import { z } from 'zod';
import { envInt, loadConfig } from '@trellis/platform/config';
import { serviceConfigShape } from '@trellis/platform/bootstrap';
import { DEFAULT_BACKOFF } from './domain/backoff';
import {
  DEFAULT_JOB_TYPES,
  DEFAULT_MAX_PAYLOAD_BYTES,
  type JobTypeDefinition,
} from './domain/job-type';
import {
  DEFAULT_RETENTION,
  effectiveRetention,
  type EffectiveRetention,
  type JobRetention,
} from './domain/retention';

/** 100 years: the longest age a retention rule takes (keep "for ever"). */
const MAX_RETENTION_SECONDS = 100 * 365 * 24 * 3600;

/** `{"max_age_seconds": 86400, "max_count": 10000}`; either may be left out. */
const retentionRule = z
  .object({
    max_age_seconds: z.number().min(0).max(MAX_RETENTION_SECONDS).optional(),
    max_count: z.number().int().min(1).max(1_000_000_000).optional(),
  })
  .strict();

/**
 * Retention per terminal state, as JOB_RETENTION and a JOB_TYPES entry's `retention` give it:
 * `{"succeeded": {...}, "dead": {...}, "cancelled": {...}}`; what is left out is the default.
 */
const retentionEntry = z
  .object({
    succeeded: retentionRule.optional(),
    dead: retentionRule.optional(),
    cancelled: retentionRule.optional(),
  })
  .strict();

function toRetention(entry: z.infer<typeof retentionEntry>): JobRetention {
  const retention: JobRetention = {};
  for (const [state, rule] of [
    ['SUCCEEDED', entry.succeeded],
    ['DEAD', entry.dead],
    ['CANCELLED', entry.cancelled],
  ] as const) {
    if (!rule) continue;
    retention[state] = {
      ...(rule.max_age_seconds !== undefined && {
        maxAgeMs: Math.round(rule.max_age_seconds * 1000),
      }),
      ...(rule.max_count !== undefined && { maxCount: rule.max_count }),
    };
  }
  return retention;
}

/** An environment variable holding JSON that `schema` checks; `fallback` when unset. */
function jsonEnv<S extends z.ZodType, T>(
  schema: S,
  what: string,
  fallback: T,
  convert: (value: z.infer<S>) => T,
) {
  return z
    .string()
    .optional()
    .transform((raw, ctx): T => {
      if (raw === undefined) return fallback;
      let json: unknown;
      try {
        json = JSON.parse(raw);
      } catch (err) {
        ctx.addIssue({ code: 'custom', message: `expected JSON: ${(err as Error).message}` });
        return z.NEVER;
      }
      const parsed = schema.safeParse(json);
      if (!parsed.success) {
        const issue = parsed.error.issues[0];
        ctx.addIssue({
          code: 'custom',
          message: `expected ${what}: ${issue.path.join('.')} ${issue.message}`,
        });
        return z.NEVER;
      }
      return convert(parsed.data);
    });
}

/**
 * One declared job type in JOB_TYPES (a JSON array) or the file JOB_TYPES_FILE names:
 * {"name": "email.campaign", "payload_schema": {...}, "max_attempts": 5, "lease_seconds": 60,
 *  "max_payload_bytes": 262144, "backoff": {"initial_delay_seconds": 1, "max_delay_seconds": 600,
 *  "multiplier": 2, "jitter": 0.2}}
 */
const jobTypeEntry = z.object({
  name: z.string().min(1),
  description: z.string().default(''),
  payload_schema: z.record(z.string(), z.unknown()).default({ type: 'object' }),
  max_attempts: z.number().int().min(1).max(100).default(5),
  lease_seconds: z.number().min(1).max(3600).default(60),
  max_payload_bytes: z
    .number()
    .int()
    .min(2)
    .max(4 * 1024 * 1024)
    .default(DEFAULT_MAX_PAYLOAD_BYTES),
  backoff: z
    .object({
      initial_delay_seconds: z
        .number()
        .min(0.1)
        .default(DEFAULT_BACKOFF.initialDelayMs / 1000),
      max_delay_seconds: z
        .number()
        .max(24 * 3600)
        .default(DEFAULT_BACKOFF.maxDelayMs / 1000),
      multiplier: z.number().min(1).default(DEFAULT_BACKOFF.multiplier),
      jitter: z.number().min(0).max(1).default(DEFAULT_BACKOFF.jitter),
    })
    .optional(),
  /** Services that may claim this type when service tokens are on; omitted: any. */
  workers: z.array(z.string().min(1)).optional(),
  /** Log lines / bytes of log messages a job keeps; omitted: JOB_LOG_MAX_LINES / _BYTES. */
  max_log_lines: z.number().int().min(1).max(100_000).optional(),
  max_log_bytes: z
    .number()
    .int()
    .min(1024)
    .max(8 * 1024 * 1024)
    .optional(),
  /** How long its finished jobs are kept; omitted parts: JOB_RETENTION. */
  retention: retentionEntry.optional(),
});

function toDefinition(entry: z.infer<typeof jobTypeEntry>): JobTypeDefinition {
  const backoff = entry.backoff;
  return {
    name: entry.name,
    description: entry.description,
    payloadSchema: entry.payload_schema,
    maxPayloadBytes: entry.max_payload_bytes,
    defaultMaxAttempts: entry.max_attempts,
    defaultLeaseMs: Math.round(entry.lease_seconds * 1000),
    defaultBackoff: backoff
      ? {
          initialDelayMs: Math.round(backoff.initial_delay_seconds * 1000),
          maxDelayMs: Math.round(backoff.max_delay_seconds * 1000),
          multiplier: backoff.multiplier,
          jitter: backoff.jitter,
        }
      : DEFAULT_BACKOFF,
    workers: entry.workers,
    maxLogLines: entry.max_log_lines,
    maxLogBytes: entry.max_log_bytes,
    retention: entry.retention && toRetention(entry.retention),
  };
}

const jobTypes = jsonEnv(
  z.array(jobTypeEntry).min(1),
  'a JSON array of job types',
  DEFAULT_JOB_TYPES,
  (entries) => entries.map(toDefinition),
);

const retention = jsonEnv(
  retentionEntry,
  'an object of retention rules',
  DEFAULT_RETENTION,
  (entry): EffectiveRetention => effectiveRetention(toRetention(entry), DEFAULT_RETENTION),
);

const JOB = 'trellis.job.v1.JobService';
/** The operator identity (the devstack mints its tokens: `npm run -s token -- job-service`). */
const ADMIN = 'admin';
/** The one Trellis service that enqueues and works jobs: campaigns are `email.campaign` jobs. */
const NOTIFICATION = 'notification-service';

/**
 * Who may call what with service tokens on, from who calls whom in Trellis: the
 * notification-service creates and cancels its campaign jobs and works them as a worker (which
 * types a worker may claim is each job type's `workers`); the operator identity administers
 * everything. Every method is named, so a method added later is denied until it is listed here.
 */
export const DEFAULT_AUTHZ_POLICY: Record<string, string[]> = {
  [`${JOB}/CreateJob`]: [NOTIFICATION, ADMIN],
  [`${JOB}/CreateJobs`]: [NOTIFICATION, ADMIN],
  [`${JOB}/CreateFlow`]: [ADMIN],
  [`${JOB}/CancelJob`]: [NOTIFICATION, ADMIN],
  [`${JOB}/ClaimJobs`]: [NOTIFICATION, ADMIN],
  [`${JOB}/HeartbeatJob`]: [NOTIFICATION, ADMIN],
  [`${JOB}/CompleteJob`]: [NOTIFICATION, ADMIN],
  [`${JOB}/CompleteJobs`]: [NOTIFICATION, ADMIN],
  [`${JOB}/FailJob`]: [NOTIFICATION, ADMIN],
  [`${JOB}/GetJob`]: [ADMIN],
  [`${JOB}/ListJobs`]: [ADMIN],
  [`${JOB}/GetQueueStats`]: [ADMIN],
  [`${JOB}/ListJobTypes`]: [ADMIN],
  [`${JOB}/RetryJob`]: [ADMIN],
  [`${JOB}/AppendJobLogs`]: [NOTIFICATION, ADMIN],
  [`${JOB}/ListJobLogs`]: [ADMIN],
  [`${JOB}/RegisterJobType`]: [ADMIN],
  [`${JOB}/UpdateJobType`]: [ADMIN],
  [`${JOB}/CreateSchedule`]: [ADMIN],
  [`${JOB}/GetSchedule`]: [ADMIN],
  [`${JOB}/ListSchedules`]: [ADMIN],
  [`${JOB}/UpdateSchedule`]: [ADMIN],
  [`${JOB}/PauseSchedule`]: [ADMIN],
  [`${JOB}/ResumeSchedule`]: [ADMIN],
  [`${JOB}/DeleteSchedule`]: [ADMIN],
  [`${JOB}/TriggerSchedule`]: [ADMIN],
};

export const configShape = {
  ...serviceConfigShape({
    grpcPort: 50052,
    metricsPort: 9465,
    database: 'trellis_job',
    authorizationPolicy: DEFAULT_AUTHZ_POLICY,
  }),
  /** The declared job types (JSON array); JOB_TYPES_FILE reads it from a file. */
  JOB_TYPES: jobTypes,
  /** How often the reaper looks for expired leases. */
  REAPER_INTERVAL_MS: envInt(1_000, 10, 60_000),
  /** How often a waiting ClaimJobs re-checks MongoDB (jobs made due by other replicas). */
  CLAIM_POLL_INTERVAL_MS: envInt(250, 10, 10_000),
  /**
   * How long one scan of due jobs serves claims before it is rescanned: how soon jobs made due by
   * other replicas, or by time passing, can be claimed here (this replica's own are seen at once).
   */
  CLAIM_CANDIDATE_TTL_MS: envInt(250, 10, 10_000),
  /**
   * How often each replica looks for job types registered or changed on another one, right after
   * it saw a change; while nothing changes the pace doubles up to JOB_TYPES_REFRESH_MAX_MS.
   */
  JOB_TYPES_REFRESH_MS: envInt(1_000, 50, 60_000),
  /** The idle refresher's slowest pace: the longest another replica's type change goes unseen. */
  JOB_TYPES_REFRESH_MAX_MS: envInt(10_000, 50, 600_000),
  /** Log lines a job keeps (AppendJobLogs) unless its type says otherwise; the newest are kept. */
  JOB_LOG_MAX_LINES: envInt(1_000, 1, 100_000),
  /** Bytes of log messages a job keeps unless its type says otherwise. */
  JOB_LOG_MAX_BYTES: envInt(256 * 1024, 1024, 8 * 1024 * 1024),
  /**
   * How soon a ticker pass that left due schedules behind (a failed firing) runs again. Otherwise
   * the ticker sleeps until the earliest schedule is due (a tick fires on time).
   */
  SCHEDULE_TICK_INTERVAL_MS: envInt(1_000, 10, 60_000),
  /**
   * The ticker's longest sleep: how soon a schedule created, updated or resumed on another replica
   * is seen here (this replica's own changes wake its ticker at once).
   */
  SCHEDULE_TICK_MAX_IDLE_MS: envInt(30_000, 10, 600_000),
  /**
   * How long finished jobs are kept where their type says nothing (JSON, per state
   * `max_age_seconds` and `max_count`; what is left out keeps DEFAULT_RETENTION's value).
   */
  JOB_RETENTION: retention,
  /** How often the replica holding the `job-retention` lease removes jobs past retention. */
  JOB_RETENTION_INTERVAL_MS: envInt(60_000, 100, 3_600_000),
};

export type JobServiceConfig = ReturnType<typeof loadServiceConfig>;

export function loadServiceConfig(env: Record<string, string | undefined> = process.env) {
  return loadConfig(configShape, env);
}
