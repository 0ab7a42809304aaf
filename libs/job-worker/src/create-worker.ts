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

interface HeldJob {
  job: jobV1.Job;
  children: jobV1.Job[];
  reported: ReportedJob;
  keeper: LeaseKeeper;
  logs: JobLogBuffer;
  /** Set when stop() reported the job; the handler's outcome is then ignored. */
  abandoned: boolean;
  /** Set once the handler's outcome is being reported (stop() then leaves the job to it). */
  reporting: boolean;
  /** Resolves once the job's outcome was reported (or the job was given up). */
  done: Promise<void>;
  finished(): void;
}

/**
 * A job-service worker: long-polls ClaimJobs for `types` (claim loop), runs up to `concurrency`
 * jobs through `handler` (with `prefetch`, more are claimed and wait for a slot), heartbeats each
 * job on its own from its claim (lease keeper, which also delivers progress and cancellation), and
 * completes or fails it (completion reporter). It installs no signal handlers: a process wires
 * SIGTERM to `stop()`.
 */
export function createWorker(options: WorkerOptions): Worker {
  const client = options.client;
  const concurrency = Math.max(1, options.concurrency ?? 1);
  const prefetch = Math.min(4 * concurrency, Math.max(0, Math.floor(options.prefetch ?? 0)));
  const workerId =
    options.workerId ?? `${hostname()}:${process.pid}:${randomBytes(3).toString('hex')}`;
  const logger = (options.logger ?? createLogger({ service: 'job-worker' })).child({
    component: 'job-worker',
    worker_id: workerId,
  });
  /** Jobs claimed and not yet reported: running, waiting for a slot, or being reported. */
  const held = new Map<string, HeldJob>();
  /** Prefetched jobs waiting for a slot, in claim order. */
  const waiting: HeldJob[] = [];
  let running = 0;
  const runClaimed = (claimed: jobV1.ClaimedJob[]) => {
    for (const { job, leaseToken, children } of claimed)
      if (job) hold(job, leaseToken, children ?? []);
  };
  const claimLoop = createClaimLoop({
    client,
    workerId,
    types: options.types,
    claimWaitMs: Math.min(30_000, Math.max(0, options.claimWaitMs ?? 10_000)),
    freeSlots: () => concurrency + prefetch - held.size,
    onClaimed: runClaimed,
    logger,
  });
  const reporter = createCompletionReporter({
    client,
    workerId,
    types: options.types,
    onClaimed: runClaimed,
    logger,
    // Prefetched jobs run while calls are in flight; each slot-full of them may report in its own.
    maxInFlight: 1 + Math.ceil(prefetch / concurrency),
  });
  let stopped: Promise<void> | undefined;

  function hold(job: jobV1.Job, leaseToken: string, children: jobV1.Job[]): void {
    const log = logger.child({ job_id: job.id, job_type: job.type, attempt: job.attempts });
    let finished = () => {};
    const done = new Promise<void>((resolve) => (finished = resolve));
    const keeper = new LeaseKeeper({
      client,
      job,
      leaseToken,
      heartbeatIntervalMs: options.heartbeatIntervalMs,
      log,
    });
    const entry: HeldJob = {
      job,
      children,
      reported: { jobId: job.id, leaseToken, log, leaseEndsAt: () => keeper.leaseEndsAt },
      keeper,
      logs: new JobLogBuffer({
        client,
        jobId: job.id,
        leaseToken,
        flushIntervalMs: options.logFlushIntervalMs,
        log,
      }),
      abandoned: false,
      reporting: false,
      done,
      finished,
    };
    held.set(job.id, entry);
    if (running < concurrency) start(entry);
    else waiting.push(entry);
  }

  function start(entry: HeldJob): void {
    running++;
    void execute(entry).finally(() => release(entry));
  }

  /** The job is reported (or given up): it no longer counts against `concurrency + prefetch`. */
  function release(entry: HeldJob): void {
    held.delete(entry.job.id);
    entry.finished();
    claimLoop.wake();
  }

  /** The handler returned: its slot goes to the next waiting job while the outcome is reported. */
  function freeSlot(): void {
    running--;
    const next = waiting.shift();
    if (next) start(next);
  }

  async function execute(entry: HeldJob): Promise<void> {
    const { job, children, keeper, logs } = entry;
    let outcome: JobOutcome | undefined;
    let failure: unknown;
    try {
      // A prefetched job may have been cancelled or lost its lease while it waited.
      if (keeper.signal.aborted) throw keeper.signal.reason;
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
    } finally {
      freeSlot();
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
    entry.reporting = true;
    await reporter.report(entry.reported, outcome);
  }

  async function stop(deadlineMs: number): Promise<void> {
    reporter.stopClaiming();
    await claimLoop.stop();
    // A completion call still in flight may hand over next jobs: wait for those too.
    const drained = (async () => {
      while (held.size > 0) await Promise.all([...held.values()].map((r) => r.done));
    })();
    let timer: NodeJS.Timeout | undefined;
    const timedOut = await Promise.race([
      drained.then(() => false),
      new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(true), deadlineMs))),
    ]);
    clearTimeout(timer);
    if (!timedOut) return;
    // An outcome still being reported (a call in flight, or retried while the service is
    // unreachable) is not handed back: the job ran, so handing it back would run it again. Its
    // report gives up instead of retrying further, and if it is lost the lease expires.
    reporter.stopRetrying();
    // Jobs still waiting for a slot never start; they are handed back with the running ones.
    const neverStarted = waiting.splice(0);
    const abandoned = [...held.values()].filter((entry) => !entry.reporting);
    await Promise.all(
      abandoned.map((entry) => {
        entry.abandoned = true;
        entry.logs.discard();
        entry.keeper.abort(new WorkerStoppingError(entry.reported.jobId));
        return reporter.handBack(entry.reported);
      }),
    );
    for (const entry of neverStarted) release(entry);
    logger.info(
      { abandoned: abandoned.length },
      'stopped with unfinished jobs failed as retryable',
    );
  }

  const worker: Worker = {
    workerId,
    get inFlight() {
      return running;
    },
    get waiting() {
      return waiting.length;
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
