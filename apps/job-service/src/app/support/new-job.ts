import { randomUUID } from 'node:crypto';
import {
  idempotencyKeyViolation,
  replayable,
  requestHash,
  ValidationError,
  type FieldViolation,
} from '@trellis/platform/errors';
import { backoffProblems, type BackoffPolicy } from '../../domain/backoff';
import { newJob, type Job, type JsonObject } from '../../domain/job';
import type { JobTypeRegistry } from '../../domain/job-type';
import type { JobRepository } from '../ports/job.repository.port';
import type { Runtime } from '../ports/runtime.port';
import type { ClaimNotifier } from './claim-notifier';
import { jobOptionProblems } from './job-options';

export interface CreateJobInput {
  type: string;
  payload: JsonObject | undefined;
  priority: number;
  runAt?: Date;
  delayMs?: number;
  /** 0 = the type's default. */
  maxAttempts: number;
  /** Unset = the type's default; unset parts inside = the type's (jitter 0 means none). */
  backoff?: {
    initialDelayMs?: number;
    maxDelayMs?: number;
    multiplier: number;
    jitter: number;
  };
  leaseDurationMs?: number;
  idempotencyKey: string;
}

const MAX_DELAY_MS = 365 * 24 * 3600 * 1000;

/** Validates a CreateJob(s) entry and builds the job it asks for (nothing is written). */
export function buildJob(types: JobTypeRegistry, runtime: Runtime, input: CreateJobInput): Job {
  const violations: FieldViolation[] = [];
  const bad = (field: string, description: string) => violations.push({ field, description });
  if (input.type === '') throw ValidationError.field('type', 'is required');
  const type = types.get(input.type);
  for (const [field, description] of jobOptionProblems(input)) bad(field, description);
  if (input.delayMs !== undefined && (input.delayMs < 0 || input.delayMs > MAX_DELAY_MS))
    bad('delay', 'must be between 0 and 365 days');
  const key = idempotencyKeyViolation('idempotency_key', input.idempotencyKey, false);
  if (key) violations.push(key);
  let backoff: BackoffPolicy = type.defaultBackoff;
  if (input.backoff) {
    backoff = {
      initialDelayMs: input.backoff.initialDelayMs ?? type.defaultBackoff.initialDelayMs,
      maxDelayMs: input.backoff.maxDelayMs ?? type.defaultBackoff.maxDelayMs,
      multiplier:
        input.backoff.multiplier === 0 ? type.defaultBackoff.multiplier : input.backoff.multiplier,
      jitter: input.backoff.jitter,
    };
    for (const [field, description] of backoffProblems(backoff))
      bad(`backoff.${field}`, description);
  }
  if (violations.length > 0) throw new ValidationError(violations);
  const payload = input.payload ?? {};
  types.validatePayload(type.name, payload);

  // A key already used is found by the repository's create, in the same transaction.
  const hash = requestHash([type.name, payload]);
  const now = runtime.now();
  let runAt = now;
  if (input.runAt && input.runAt > now) runAt = input.runAt;
  if (input.delayMs !== undefined) runAt = new Date(now.getTime() + input.delayMs);
  const job = newJob(
    {
      id: randomUUID(),
      type: type.name,
      payload,
      priority: input.priority,
      runAt,
      maxAttempts: input.maxAttempts || type.defaultMaxAttempts,
      backoff,
      leaseDurationMs: input.leaseDurationMs ?? type.defaultLeaseMs,
      idempotencyKey: input.idempotencyKey,
      requestHash: hash,
    },
    now,
  );
  return job;
}

/** The deps `saveJob` uses: the repository and the claim notifier. */
export interface SaveJobDeps {
  jobs: JobRepository;
  notifier: ClaimNotifier;
}

/**
 * Inserts `job` with its JobCreated event; a reused idempotency key gives the stored job (or
 * IDEMPOTENCY_KEY_REUSED when the request differs). Wakes claimers of its type when it is new.
 */
export async function saveJob(
  deps: SaveJobDeps,
  job: Job,
): Promise<{ job: Job; created: boolean }> {
  // A claim already waiting for this type gets the job in the create's own transaction: one
  // transaction less, and no wake-up and poll between the create and the claim.
  const waiting = job.runAt <= job.createdAt ? deps.notifier.takeWaiter(job.type) : undefined;
  let saved: Awaited<ReturnType<JobRepository['create']>>;
  try {
    saved = await deps.jobs.create(
      job,
      [{ type: 'JobCreated', job }],
      waiting?.claim(job.createdAt),
    );
  } catch (err) {
    waiting?.deliver([]); // it claims again itself
    throw err;
  }
  waiting?.deliver(saved.claimed ? [saved.claimed] : []);
  if (!saved.created) {
    const { job: existing } = saved;
    return {
      job: replayable(existing, job.requestHash, 'JOB', existing.idempotencyKey),
      created: false,
    };
  }
  if (!saved.claimed) deps.notifier.notify(job.type, job.runAt);
  return { job: saved.job, created: true };
}
