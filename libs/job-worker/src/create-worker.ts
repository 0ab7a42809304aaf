import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { ClientError, Status } from 'nice-grpc-common';
import type { jobV1 } from '@trellis/contracts';
import { createLogger, type Logger } from '@trellis/platform/logging';
import { batchedCalls, jsonSize } from './batched-calls';

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
>;

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
   * Aborts when the job is cancelled (reason: JobCancelledError), the lease is lost (LeaseLostError)
   * or the worker's stop deadline passed (WorkerStoppingError). Stop work and return or throw.
   */
  signal: AbortSignal;
  /** Records progress; it goes to the service with the next heartbeat (at most ~1/s). */
  progress(update: ProgressUpdate): void;
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
  handler: JobHandler;
  /** Recorded on claimed jobs; default `<hostname>:<pid>:<random>`. */
  workerId?: string;
  logger?: Logger;
  /** Heartbeat period; default a third of each job's lease (at least 100 ms). */
  heartbeatIntervalMs?: number;
  /** How long one ClaimJobs long-poll waits when nothing is due (default 10 s, max 30 s). */
  claimWaitMs?: number;
  /** Start claiming at once (default true); otherwise call start(). */
  autostart?: boolean;
}

export interface Worker {
  readonly workerId: string;
  /** Jobs whose handler is running. */
  readonly inFlight: number;
  start(): void;
  /**
   * Stops claiming, lets running jobs finish within `deadlineMs` (default 10 s), then aborts the
   * rest and fails them as retryable (code WORKER_SHUTDOWN). Safe to call more than once.
   */
  stop(options?: { deadlineMs?: number }): Promise<void>;
}

interface RunningJob {
  job: jobV1.Job;
  leaseToken: string;
  controller: AbortController;
  /** Set when stop() reported the job; the handler's outcome is then ignored. */
  abandoned: boolean;
  done: Promise<void>;
}

function isStatus(err: unknown, status: Status): boolean {
  return err instanceof ClientError && err.code === status;
}

function leaseMsOf(job: jobV1.Job): number {
  const d = job.leaseDuration;
  return d ? Number(d.seconds) * 1000 + Math.floor(d.nanos / 1e6) : 30_000;
}

/**
 * A job-service worker: long-polls ClaimJobs for `types`, runs up to `concurrency` jobs through
 * `handler`, heartbeats each job on its own (which also delivers progress and cancellation), and
 * completes or fails it. It installs no signal handlers: a process wires SIGTERM to `stop()`.
 */
export function createWorker(options: WorkerOptions): Worker {
  const client = options.client;
  const concurrency = Math.max(1, options.concurrency ?? 1);
  const claimWaitMs = Math.min(30_000, Math.max(0, options.claimWaitMs ?? 10_000));
  const workerId =
    options.workerId ?? `${hostname()}:${process.pid}:${randomBytes(3).toString('hex')}`;
  const logger = (options.logger ?? createLogger({ service: 'job-worker' })).child({
    component: 'job-worker',
    worker_id: workerId,
  });
  const running = new Map<string, RunningJob>();
  // Completions that finish while a call is in flight go together in the next CompleteJobs, which
  // also claims as many next jobs as they free slots (claim_next), so a busy worker refills its
  // slots without ClaimJobs calls; the claim loop serves the slots that stay empty.
  const reportCompletion = batchedCalls({
    path: '/trellis.job.v1.JobService/CompleteJobs',
    single: async (request: jobV1.CompleteJobRequest) => {
      await client.completeJob(request);
    },
    batch: async (completions) => {
      const response = await client.completeJobs({
        completions,
        claimNext: stopping
          ? undefined
          : { workerId, types: options.types, maxJobs: completions.length },
      });
      for (const { job, leaseToken } of response.claimed) if (job) runJob(job, leaseToken);
      return response.results.map(({ status }) => ({ status, response: undefined }));
    },
    weigh: (request) => jsonSize(request.result),
    onUnavailable: (code) =>
      logger.info(
        { grpc_status: Status[code] },
        'CompleteJobs is unavailable to this worker; completing one job per call',
      ),
  });
  let started = false;
  let stopping = false;
  let loop: Promise<void> | undefined;
  let claimAbort: AbortController | undefined;
  let slotWaiter: (() => void) | undefined;
  let stopped: Promise<void> | undefined;

  const wakeLoop = () => {
    const wake = slotWaiter;
    slotWaiter = undefined;
    wake?.();
  };

  const pause = (ms: number) =>
    new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, ms);
      slotWaiter = () => {
        clearTimeout(timer);
        resolve();
      };
    });

  async function claimLoop(): Promise<void> {
    let failures = 0;
    while (!stopping) {
      if (running.size >= concurrency) {
        await new Promise<void>((resolve) => (slotWaiter = resolve));
        continue;
      }
      claimAbort = new AbortController();
      let claimed: jobV1.ClaimedJob[];
      try {
        const response = await client.claimJobs(
          {
            workerId,
            types: options.types,
            maxJobs: Math.min(100, concurrency - running.size),
            wait: {
              seconds: BigInt(Math.floor(claimWaitMs / 1000)),
              nanos: (claimWaitMs % 1000) * 1e6,
            },
          },
          { signal: claimAbort.signal, deadline: new Date(Date.now() + claimWaitMs + 10_000) },
        );
        claimed = response.jobs;
        failures = 0;
      } catch (err) {
        if (stopping) break;
        failures++;
        const delay = Math.min(5_000, 100 * 2 ** Math.min(failures, 6));
        logger.warn({ err, retry_in_ms: delay }, 'ClaimJobs failed');
        await pause(delay);
        continue;
      }
      for (const { job, leaseToken } of claimed) if (job) runJob(job, leaseToken);
    }
  }

  function runJob(job: jobV1.Job, leaseToken: string): void {
    const controller = new AbortController();
    const entry: RunningJob = {
      job,
      leaseToken,
      controller,
      abandoned: false,
      done: Promise.resolve(),
    };
    running.set(job.id, entry);
    entry.done = execute(entry).finally(() => {
      running.delete(job.id);
      wakeLoop();
    });
  }

  async function execute(entry: RunningJob): Promise<void> {
    const { job, leaseToken, controller } = entry;
    const log = logger.child({ job_id: job.id, job_type: job.type, attempt: job.attempts });
    let pendingProgress: jobV1.JobProgress | undefined;
    let beating: Promise<void> | undefined;
    let lastBeat = Date.now();
    let leaseLost = false;

    const beat = () => {
      if (beating || controller.signal.aborted) return;
      const progress = pendingProgress;
      pendingProgress = undefined;
      lastBeat = Date.now();
      beating = client
        .heartbeatJob({ jobId: job.id, leaseToken, progress })
        .then(
          (response) => {
            if (response.cancelRequested && !controller.signal.aborted) {
              log.info('cancellation requested');
              controller.abort(new JobCancelledError(job.id));
            }
          },
          (err: unknown) => {
            if (isStatus(err, Status.FAILED_PRECONDITION) || isStatus(err, Status.NOT_FOUND)) {
              leaseLost = true;
              log.warn({ err }, 'lease lost');
              if (!controller.signal.aborted) controller.abort(new LeaseLostError(job.id));
            } else {
              if (progress && !pendingProgress) pendingProgress = progress;
              log.warn({ err }, 'heartbeat failed');
            }
          },
        )
        .finally(() => (beating = undefined));
    };
    const interval = Math.max(100, options.heartbeatIntervalMs ?? Math.floor(leaseMsOf(job) / 3));
    const timer = setInterval(beat, interval);
    // Nothing left to keep alive once the lease is lost or stop() handed the job back.
    controller.signal.addEventListener('abort', () => {
      if (!(controller.signal.reason instanceof JobCancelledError)) clearInterval(timer);
    });

    const context: JobContext = {
      job,
      signal: controller.signal,
      progress(update) {
        const counters: Record<string, bigint> = {};
        for (const [key, value] of Object.entries(update.counters ?? {}))
          counters[key] = typeof value === 'bigint' ? value : BigInt(Math.trunc(value));
        pendingProgress = {
          percent: update.percent ?? pendingProgress?.percent ?? 0,
          message: update.message ?? pendingProgress?.message ?? '',
          counters,
        };
        if (Date.now() - lastBeat >= 1_000) beat();
      },
    };

    let result: Record<string, unknown> | void = undefined;
    let failure: unknown;
    let ok = false;
    try {
      result = await options.handler(context);
      ok = true;
    } catch (err) {
      failure = err;
    } finally {
      clearInterval(timer);
    }
    await beating;
    if (leaseLost || entry.abandoned) return;
    try {
      if (ok) {
        await reportCompletion({ jobId: job.id, leaseToken, result: result ?? {} });
        log.debug('job completed');
      } else if (controller.signal.reason instanceof JobCancelledError) {
        await client.failJob({
          jobId: job.id,
          leaseToken,
          errorMessage: 'cancelled at the request of CancelJob',
          errorCode: 'CANCELLED',
          retryable: false,
        });
        log.info('job cancelled');
      } else {
        const message =
          failure instanceof Error ? failure.message || failure.name : String(failure);
        const retryable = failure instanceof JobFailure ? failure.retryable : true;
        const code = failure instanceof JobFailure ? failure.code : '';
        const response = await client.failJob({
          jobId: job.id,
          leaseToken,
          errorMessage: message || 'failed',
          errorCode: code,
          retryable,
        });
        log.warn({ err: failure, will_retry: response.willRetry }, 'job failed');
      }
    } catch (err) {
      log.error({ err }, 'could not report the job outcome; its lease will expire');
    }
  }

  const worker: Worker = {
    workerId,
    get inFlight() {
      return running.size;
    },
    start() {
      if (started) return;
      started = true;
      loop = claimLoop().catch((err: unknown) => logger.error({ err }, 'claim loop crashed'));
    },
    stop({ deadlineMs = 10_000 } = {}) {
      stopped ??= (async () => {
        stopping = true;
        claimAbort?.abort();
        wakeLoop();
        await loop;
        // A completion call still in flight may hand over next jobs: wait for those too.
        const drained = (async () => {
          while (running.size > 0) await Promise.all([...running.values()].map((r) => r.done));
        })();
        let timer: NodeJS.Timeout | undefined;
        const timedOut = await Promise.race([
          drained.then(() => false),
          new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(true), deadlineMs))),
        ]);
        clearTimeout(timer);
        if (!timedOut) return;
        await Promise.all(
          [...running.values()].map(async (entry) => {
            entry.abandoned = true;
            entry.controller.abort(new WorkerStoppingError(entry.job.id));
            try {
              await client.failJob({
                jobId: entry.job.id,
                leaseToken: entry.leaseToken,
                errorMessage: 'the worker stopped before the job finished',
                errorCode: 'WORKER_SHUTDOWN',
                retryable: true,
              });
            } catch (err) {
              logger.warn({ err, job_id: entry.job.id }, 'could not fail an unfinished job');
            }
          }),
        );
        logger.info(
          { abandoned: running.size },
          'stopped with unfinished jobs failed as retryable',
        );
      })();
      return stopped;
    },
  };
  if (options.autostart ?? true) worker.start();
  return worker;
}
