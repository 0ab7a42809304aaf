import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { jobV1 } from '@trellis/contracts';
import { createLogger } from '@trellis/platform/logging';
import { createClaimLoop } from './claim-loop';
import { createCompletionReporter, type JobOutcome, type ReportedJob } from './completion-reporter';
import { JobLogBuffer } from './job-log-buffer';
import { LeaseKeeper } from './lease-keeper';
import {
  JobCancelledError,
  WorkerStoppingError,
  type Worker,
  type WorkerOptions,
} from './worker-api';

interface RunningJob {
  reported: ReportedJob;
  keeper: LeaseKeeper;
  logs: JobLogBuffer;
  /** Set when stop() reported the job; the handler's outcome is then ignored. */
  abandoned: boolean;
  done: Promise<void>;
}

/**
 * A job-service worker: long-polls ClaimJobs for `types` (claim loop), runs up to `concurrency`
 * jobs through `handler`, heartbeats each job on its own (lease keeper, which also delivers
 * progress and cancellation), and completes or fails it (completion reporter). It installs no
 * signal handlers: a process wires SIGTERM to `stop()`.
 */
export function createWorker(options: WorkerOptions): Worker {
  const client = options.client;
  const concurrency = Math.max(1, options.concurrency ?? 1);
  const workerId =
    options.workerId ?? `${hostname()}:${process.pid}:${randomBytes(3).toString('hex')}`;
  const logger = (options.logger ?? createLogger({ service: 'job-worker' })).child({
    component: 'job-worker',
    worker_id: workerId,
  });
  const running = new Map<string, RunningJob>();
  const runClaimed = (claimed: jobV1.ClaimedJob[]) => {
    for (const { job, leaseToken, children } of claimed)
      if (job) runJob(job, leaseToken, children ?? []);
  };
  const claimLoop = createClaimLoop({
    client,
    workerId,
    types: options.types,
    claimWaitMs: Math.min(30_000, Math.max(0, options.claimWaitMs ?? 10_000)),
    freeSlots: () => concurrency - running.size,
    onClaimed: runClaimed,
    logger,
  });
  const reporter = createCompletionReporter({
    client,
    workerId,
    types: options.types,
    onClaimed: runClaimed,
    logger,
  });
  let stopped: Promise<void> | undefined;

  function runJob(job: jobV1.Job, leaseToken: string, children: jobV1.Job[]): void {
    const log = logger.child({ job_id: job.id, job_type: job.type, attempt: job.attempts });
    const entry: RunningJob = {
      reported: { jobId: job.id, leaseToken, log },
      keeper: new LeaseKeeper({
        client,
        job,
        leaseToken,
        heartbeatIntervalMs: options.heartbeatIntervalMs,
        log,
      }),
      logs: new JobLogBuffer({
        client,
        jobId: job.id,
        leaseToken,
        flushIntervalMs: options.logFlushIntervalMs,
        log,
      }),
      abandoned: false,
      done: Promise.resolve(),
    };
    running.set(job.id, entry);
    entry.done = execute(job, children, entry).finally(() => {
      running.delete(job.id);
      claimLoop.wake();
    });
  }

  async function execute(job: jobV1.Job, children: jobV1.Job[], entry: RunningJob): Promise<void> {
    const { keeper, logs } = entry;
    let outcome: JobOutcome | undefined;
    let failure: unknown;
    try {
      const result = await options.handler({
        job,
        children,
        childrenResults: childrenResultsOf(children),
        signal: keeper.signal,
        progress: keeper.progress,
        log: logs.log,
      });
      outcome = { kind: 'completed', result: result ?? {} };
    } catch (err) {
      failure = err;
    }
    await keeper.finish();
    if (keeper.leaseLost || entry.abandoned) {
      logs.discard();
      return;
    }
    // The lines go before the outcome: after it the lease is gone and they would be refused.
    await logs.close();
    // Decided after the last heartbeat: its answer may have cancelled the job.
    outcome ??=
      keeper.signal.reason instanceof JobCancelledError
        ? { kind: 'cancelled' }
        : { kind: 'failed', error: failure };
    await reporter.report(entry.reported, outcome);
  }

  async function stop(deadlineMs: number): Promise<void> {
    reporter.stopClaiming();
    await claimLoop.stop();
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
      [...running.values()].map((entry) => {
        entry.abandoned = true;
        entry.logs.discard();
        entry.keeper.abort(new WorkerStoppingError(entry.reported.jobId));
        return reporter.handBack(entry.reported);
      }),
    );
    logger.info({ abandoned: running.size }, 'stopped with unfinished jobs failed as retryable');
  }

  const worker: Worker = {
    workerId,
    get inFlight() {
      return running.size;
    },
    start: () => claimLoop.start(),
    stop({ deadlineMs = 10_000 } = {}) {
      stopped ??= stop(deadlineMs);
      return stopped;
    },
  };
  if (options.autostart ?? true) worker.start();
  return worker;
}

/** The results of a flow parent's SUCCEEDED children by child id (BullMQ's getChildrenValues). */
function childrenResultsOf(children: jobV1.Job[]): Record<string, Record<string, unknown>> {
  const results: Record<string, Record<string, unknown>> = {};
  for (const child of children)
    if (child.state === jobV1.JobState.JOB_STATE_SUCCEEDED) results[child.id] = child.result ?? {};
  return results;
}
