import { PreconditionFailedError } from '@trellis/platform/errors';
import { backoffDelayMs, type BackoffPolicy } from './backoff';

export type JobState =
  | 'PENDING'
  | 'RUNNING'
  | 'SUCCEEDED'
  | 'DEAD'
  | 'CANCELLED'
  /** A flow's parent whose children have not all finished (domain/flow.ts). */
  | 'WAITING_CHILDREN';

export const JOB_STATES: readonly JobState[] = [
  'PENDING',
  'RUNNING',
  'SUCCEEDED',
  'DEAD',
  'CANCELLED',
  'WAITING_CHILDREN',
];

/** What a child that ends DEAD (or CANCELLED on its own) does to its parent (domain/flow.ts). */
export type ChildFailurePolicy = 'FAIL_PARENT' | 'IGNORE';

export type JsonObject = Record<string, unknown>;

export interface JobProgress {
  percent: number;
  message: string;
  counters: Record<string, bigint>;
  updatedAt: Date;
}

export interface JobError {
  message: string;
  code: string;
  retryable: boolean;
  /** The attempt that failed (1-based). */
  attempt: number;
  occurredAt: Date;
}

/** A job (trellis.job.v1.Job), the aggregate every use case loads, changes and saves. */
export interface Job {
  id: string;
  type: string;
  payload: JsonObject;
  state: JobState;
  priority: number;
  runAt: Date;
  attempts: number;
  maxAttempts: number;
  backoff: BackoffPolicy;
  leaseDurationMs: number;
  /** Empty when the caller gave none. */
  idempotencyKey: string;
  /** Fingerprint of (type, payload) for idempotency-key reuse checks. */
  requestHash: string;
  cancelRequested: boolean;
  cancelReason: string;
  workerId: string;
  /** The fencing token of the current claim (RUNNING only; empty otherwise). */
  leaseToken: string;
  leaseExpiresAt: Date | null;
  progress: JobProgress | null;
  result: JsonObject | null;
  lastError: JobError | null;
  createdAt: Date;
  updatedAt: Date;
  startedAt: Date | null;
  finishedAt: Date | null;
  /** The flow parent this job is a child of (CreateFlow); null for a job without one. */
  parentId: string | null;
  /** Children created with this job; 0 for a job that is not a flow parent. */
  childCount: number;
  /** Children not finished yet: the job is WAITING_CHILDREN while this is above 0. */
  pendingChildren: number;
  /** What a failed child does to this job (meaningful when childCount > 0). */
  onChildFailure: ChildFailurePolicy;
}

/** What a caller chooses when it creates a job; the rest of a new job is fixed. */
export type NewJobFields = Pick<
  Job,
  | 'id'
  | 'type'
  | 'payload'
  | 'priority'
  | 'runAt'
  | 'maxAttempts'
  | 'backoff'
  | 'leaseDurationMs'
  | 'idempotencyKey'
  | 'requestHash'
>;

/**
 * Payload and result JSON one response carries at most (a larger job alone): ClaimJobs and
 * ListJobs return fewer jobs beyond it, so a response fits gRPC's usual 4 MiB receive limit.
 * A response the client refuses arrives only after the work: a refused claim would leave its
 * jobs RUNNING until their leases expired.
 */
export const MAX_RESPONSE_JSON_BYTES = 3 * 1024 * 1024;

/** A job as created: PENDING, no attempt yet, no lease, no progress or outcome. */
export function newJob(fields: NewJobFields, now: Date): Job {
  // Field by field: V8 builds this ~100× faster than a spread of `fields` followed by new keys.
  return {
    id: fields.id,
    type: fields.type,
    payload: fields.payload,
    priority: fields.priority,
    runAt: fields.runAt,
    maxAttempts: fields.maxAttempts,
    backoff: fields.backoff,
    leaseDurationMs: fields.leaseDurationMs,
    idempotencyKey: fields.idempotencyKey,
    requestHash: fields.requestHash,
    state: 'PENDING',
    attempts: 0,
    cancelRequested: false,
    cancelReason: '',
    workerId: '',
    leaseToken: '',
    leaseExpiresAt: null,
    progress: null,
    result: null,
    lastError: null,
    createdAt: now,
    updatedAt: now,
    startedAt: null,
    finishedAt: null,
    parentId: null,
    childCount: 0,
    pendingChildren: 0,
    onChildFailure: 'FAIL_PARENT',
  };
}

/** What a state change publishes (mapped to trellis.job.v1 events by the outbox adapter). */
export type JobEvent =
  | { type: 'JobCreated'; job: Job }
  | { type: 'JobStarted'; job: Job }
  | { type: 'JobSucceeded'; job: Job; runDurationMs: number }
  | { type: 'JobFailed'; job: Job; error: JobError; willRetry: boolean; nextRunAt: Date | null }
  | { type: 'JobDeadLettered'; job: Job }
  | { type: 'JobCancelled'; job: Job; wasRunning: boolean }
  /** A flow's parent left WAITING_CHILDREN for PENDING (domain/flow.ts). */
  | { type: 'JobChildrenCompleted'; job: Job };

export interface Transition {
  job: Job;
  events: JobEvent[];
}

function illegal(job: Job, action: string): PreconditionFailedError {
  return new PreconditionFailedError(
    'JOB.ILLEGAL_TRANSITION',
    `cannot ${action} job ${job.id} in state ${job.state}`,
    { job_id: job.id, current_state: job.state },
  );
}

export function leaseLost(jobId: string): PreconditionFailedError {
  return new PreconditionFailedError(
    'JOB.LEASE_LOST',
    `the lease token of job ${jobId} is not current`,
    { job_id: jobId },
  );
}

/** The lease token must be the current one of a RUNNING job; anything else changes nothing. */
export function assertLease(
  job: Pick<Job, 'id' | 'state' | 'leaseToken'>,
  leaseToken: string,
): void {
  if (job.state !== 'RUNNING' || leaseToken === '' || job.leaseToken !== leaseToken)
    throw leaseLost(job.id);
}

function released(job: Job, now: Date): Job {
  return { ...job, workerId: '', leaseToken: '', leaseExpiresAt: null, updatedAt: now };
}

/** PENDING (due) → RUNNING: a claim starts an attempt with a fresh lease. */
export function startAttempt(
  job: Job,
  workerId: string,
  leaseToken: string,
  now: Date,
): Transition {
  if (job.state !== 'PENDING') throw illegal(job, 'claim');
  const next: Job = {
    ...job,
    state: 'RUNNING',
    attempts: job.attempts + 1,
    workerId,
    leaseToken,
    leaseExpiresAt: new Date(now.getTime() + job.leaseDurationMs),
    startedAt: now,
    updatedAt: now,
    cancelRequested: false,
  };
  return { job: next, events: [{ type: 'JobStarted', job: next }] };
}

/** RUNNING: extends the lease and records progress. */
export function heartbeat(
  job: Job,
  leaseToken: string,
  progress: Omit<JobProgress, 'updatedAt'> | null,
  extensionMs: number | null,
  now: Date,
): Job {
  assertLease(job, leaseToken);
  return {
    ...job,
    leaseExpiresAt: new Date(now.getTime() + (extensionMs ?? job.leaseDurationMs)),
    progress: progress ? { ...progress, updatedAt: now } : job.progress,
    updatedAt: now,
  };
}

/** RUNNING → SUCCEEDED (even when cancellation was requested: the work finished). */
export function complete(job: Job, leaseToken: string, result: JsonObject, now: Date): Transition {
  assertLease(job, leaseToken);
  const next: Job = { ...released(job, now), state: 'SUCCEEDED', result, finishedAt: now };
  const runDurationMs = job.startedAt ? now.getTime() - job.startedAt.getTime() : 0;
  return { job: next, events: [{ type: 'JobSucceeded', job: next, runDurationMs }] };
}

function cancelNow(job: Job, now: Date, wasRunning: boolean): Transition {
  const next: Job = { ...released(job, now), state: 'CANCELLED', finishedAt: now };
  return { job: next, events: [{ type: 'JobCancelled', job: next, wasRunning }] };
}

/**
 * Ends the current attempt as failed (FailJob, or lease expiry with code LEASE_EXPIRED):
 * cancellation requested → CANCELLED; retryable with attempts left → PENDING after backoff;
 * otherwise DEAD. `random` in [0, 1) draws the jitter.
 */
export function failAttempt(
  job: Job,
  failure: { message: string; code: string; retryable: boolean },
  now: Date,
  random: number,
): Transition & { willRetry: boolean; nextRunAt: Date | null } {
  if (job.state !== 'RUNNING') throw illegal(job, 'fail');
  const error: JobError = { ...failure, attempt: job.attempts, occurredAt: now };
  if (job.cancelRequested) {
    const cancelled = cancelNow({ ...job, lastError: error }, now, true);
    return { ...cancelled, willRetry: false, nextRunAt: null };
  }
  if (failure.retryable && job.attempts < job.maxAttempts) {
    const nextRunAt = new Date(now.getTime() + backoffDelayMs(job.backoff, job.attempts, random));
    const next: Job = {
      ...released(job, now),
      state: 'PENDING',
      runAt: nextRunAt,
      lastError: error,
    };
    return {
      job: next,
      events: [{ type: 'JobFailed', job: next, error, willRetry: true, nextRunAt }],
      willRetry: true,
      nextRunAt,
    };
  }
  const next: Job = { ...released(job, now), state: 'DEAD', lastError: error, finishedAt: now };
  return {
    job: next,
    events: [
      { type: 'JobFailed', job: next, error, willRetry: false, nextRunAt: null },
      { type: 'JobDeadLettered', job: next },
    ],
    willRetry: false,
    nextRunAt: null,
  };
}

/**
 * RUNNING → PENDING for a claim whose caller went away before receiving it (the ClaimJobs call was
 * cancelled as the claim committed): the attempt never started, so it is not counted and the job
 * is due again at once. Publishes JobFailed (code CLAIM_ABANDONED, will_retry) after the
 * JobStarted the claim wrote.
 */
export function abandonClaim(job: Job, now: Date): Transition {
  if (job.state !== 'RUNNING') throw illegal(job, 'release');
  const error: JobError = {
    message: 'the worker went away before it received the claim',
    code: 'CLAIM_ABANDONED',
    retryable: true,
    attempt: job.attempts,
    occurredAt: now,
  };
  const next: Job = {
    ...released(job, now),
    state: 'PENDING',
    attempts: job.attempts - 1,
    runAt: now,
    startedAt: null,
  };
  return {
    job: next,
    events: [{ type: 'JobFailed', job: next, error, willRetry: true, nextRunAt: now }],
  };
}

/** A RUNNING job whose lease ran out (crashed or hung worker). */
export function expireLease(job: Job, now: Date, random: number): Transition {
  return failAttempt(
    job,
    {
      message: 'the lease expired before the worker finished',
      code: 'LEASE_EXPIRED',
      retryable: true,
    },
    now,
    random,
  );
}

export function isLeaseExpired(job: Job, now: Date): boolean {
  return job.state === 'RUNNING' && job.leaseExpiresAt !== null && job.leaseExpiresAt <= now;
}

/**
 * PENDING or WAITING_CHILDREN → CANCELLED at once (a flow parent's unfinished children are
 * cancelled with it, by the repository: domain/flow.ts); RUNNING → cancel requested (the worker
 * acknowledges with FailJob, or the lease ends); CANCELLED → no-op; SUCCEEDED and DEAD are illegal.
 */
export function cancel(job: Job, reason: string, now: Date): Transition {
  switch (job.state) {
    case 'PENDING':
    case 'WAITING_CHILDREN':
      return cancelNow({ ...job, cancelReason: reason }, now, false);
    case 'RUNNING':
      if (job.cancelRequested) return { job, events: [] };
      return {
        job: { ...job, cancelRequested: true, cancelReason: reason, updatedAt: now },
        events: [],
      };
    case 'CANCELLED':
      return { job, events: [] };
    default:
      throw illegal(job, 'cancel');
  }
}

/** DEAD or CANCELLED → PENDING with attempts reset, due now. */
export function retry(job: Job, now: Date): Transition {
  if (job.state !== 'DEAD' && job.state !== 'CANCELLED') throw illegal(job, 'retry');
  const next: Job = {
    ...released(job, now),
    state: 'PENDING',
    attempts: 0,
    runAt: now,
    cancelRequested: false,
    cancelReason: '',
    result: null,
    finishedAt: null,
  };
  return { job: next, events: [] };
}
