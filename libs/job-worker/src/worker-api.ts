import type { jobV1 } from '@trellis/contracts';
import type { Logger } from '@trellis/platform/logging';

/** Call options the worker passes: cancellation and a deadline (createGrpcClient's clients take both). */
export interface WorkerCallOptions {
  signal?: AbortSignal;
  deadline?: Date | number;
}

/**
 * The JobService client the worker calls, e.g.
 * `createGrpcClient(jobV1.JobServiceDefinition, { address }).client`.
 */
export type JobServiceClient = Pick<
  jobV1.JobServiceClient<WorkerCallOptions>,
  'claimJobs' | 'heartbeatJob' | 'completeJob' | 'completeJobs' | 'failJob'
> &
  // Optional: without it (an older job-service, a hand-made client) `log()` goes to the logger.
  Partial<Pick<jobV1.JobServiceClient<WorkerCallOptions>, 'appendJobLogs'>>;

/** Progress a handler reports; sent with the next heartbeat. */
export interface ProgressUpdate {
  percent?: number;
  message?: string;
  counters?: Record<string, number | bigint>;
}

/** What a handler gets for one job. */
export interface JobContext {
  /** The claimed job (RUNNING; `attempts` counts this attempt). */
  job: jobV1.Job;
  /**
   * A flow parent's children (CreateFlow), oldest first, with their states and results: each
   * SUCCEEDED, or DEAD/CANCELLED when the flow's policy ignores failed children. Empty for a job
   * without children.
   */
  children: jobV1.Job[];
  /** The results of the SUCCEEDED children by child job id (BullMQ's `getChildrenValues()`). */
  childrenResults: Record<string, Record<string, unknown>>;
  /**
   * Aborts when the job is cancelled (reason: JobCancelledError), the lease is lost (LeaseLostError)
   * or the worker's stop deadline passed (WorkerStoppingError). Stop work and return or throw.
   */
  signal: AbortSignal;
  /** Records progress; it goes to the service with the next heartbeat (at most ~1/s). */
  progress(update: ProgressUpdate): void;
  /**
   * Appends a line to the job's log (ListJobLogs): lines are sent in batches about every second and
   * before the outcome, under the job's lease. The job keeps its newest lines within its type's
   * bounds (lines over 4096 characters are cut).
   */
  log(message: string): void;
}

/** Returns the job's result (a JSON object) or nothing; throwing fails the attempt. */
export type JobHandler = (context: JobContext) => Promise<Record<string, unknown> | void>;

/**
 * Throw it from a handler to choose how the failure is reported. Any other error is reported as
 * retryable with its message.
 */
export class JobFailure extends Error {
  readonly retryable: boolean;
  readonly code: string;

  constructor(message: string, options: { retryable?: boolean; code?: string } = {}) {
    super(message);
    this.name = 'JobFailure';
    this.retryable = options.retryable ?? true;
    this.code = options.code ?? '';
  }
}

/** The signal's reason when CancelJob was called for the running job. */
export class JobCancelledError extends Error {
  constructor(jobId: string) {
    super(`job ${jobId} was cancelled`);
    this.name = 'JobCancelledError';
  }
}

/** The signal's reason when the lease was lost (expired and re-claimed, or ended elsewhere). */
export class LeaseLostError extends Error {
  constructor(jobId: string) {
    super(`the lease of job ${jobId} was lost`);
    this.name = 'LeaseLostError';
  }
}

/** The signal's reason when `stop()` gave up waiting; the job was failed as retryable. */
export class WorkerStoppingError extends Error {
  constructor(jobId: string) {
    super(`the worker stopped before job ${jobId} finished`);
    this.name = 'WorkerStoppingError';
  }
}

export interface WorkerOptions {
  client: JobServiceClient;
  /** The job types this worker runs (declared in the job-service). */
  types: string[];
  /** Jobs run at once (default 1). */
  concurrency?: number;
  /**
   * Jobs claimed ahead of free slots (default 0, at most 4 × `concurrency`): they wait in the
   * worker, their leases kept by heartbeats, and start as slots free, while up to
   * 1 + ⌈prefetch / concurrency⌉ CompleteJobs calls are in flight. For many short jobs this hides
   * the round trips of reporting and claiming, as a message broker's prefetch does; keep 0 for long
   * jobs, where a prefetched job waits for a slot while an idle worker elsewhere could run it.
   */
  prefetch?: number;
  handler: JobHandler;
  /** Recorded on claimed jobs; default `<hostname>:<pid>:<random>`. */
  workerId?: string;
  logger?: Logger;
  /** Heartbeat period; default a third of each job's lease (at least 100 ms). */
  heartbeatIntervalMs?: number;
  /** How long one ClaimJobs long-poll waits when nothing is due (default 10 s, max 30 s). */
  claimWaitMs?: number;
  /** How often a running job's log lines are sent (default 1 s); the rest go before its outcome. */
  logFlushIntervalMs?: number;
  /** Start claiming at once (default true); otherwise call start(). */
  autostart?: boolean;
}

export interface Worker {
  readonly workerId: string;
  /** Jobs whose handler is running. */
  readonly inFlight: number;
  /** Jobs claimed ahead of a free slot (`prefetch`), waiting for one. */
  readonly waiting: number;
  start(): void;
  /**
   * Stops claiming, lets running jobs finish within `deadlineMs` (default 10 s), then aborts the
   * rest and fails them as retryable (code WORKER_SHUTDOWN). Safe to call more than once.
   */
  stop(options?: { deadlineMs?: number }): Promise<void>;
}
