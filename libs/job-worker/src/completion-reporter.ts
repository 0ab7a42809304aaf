import { ClientError, Status } from 'nice-grpc-common';
import type { jobV1 } from '@trellis/contracts';
import type { Logger } from '@trellis/platform/logging';
import { batchedCalls, jsonSize } from './batched-calls';
import { JobFailure, type JobServiceClient } from './worker-api';

/** How a handler ended: the outcome the reporter sends to the job-service. */
export type JobOutcome =
  | { kind: 'completed'; result: Record<string, unknown> }
  | { kind: 'cancelled' }
  | { kind: 'failed'; error: unknown };

/** The lease the outcome is reported under, and the job's logger. */
export interface ReportedJob {
  jobId: string;
  leaseToken: string;
  log: Logger;
  /**
   * When the lease ends as far as the worker knows (its own clock, ms since the epoch): a report
   * that fails with UNAVAILABLE is retried until then. Unset: no retries.
   */
  leaseEndsAt?(): number;
}

export interface CompletionReporterSettings {
  client: Pick<JobServiceClient, 'completeJob' | 'completeJobs' | 'failJob'>;
  workerId: string;
  types: string[];
  /** Receives the next jobs a CompleteJobs call claimed for the slots its completions freed. */
  onClaimed(claimed: jobV1.ClaimedJob[]): void;
  logger: Logger;
  /** CompleteJobs calls in flight at once (default 1). */
  maxInFlight?: number;
  /** Waits between attempts of a report that failed with UNAVAILABLE (default 100 ms … 2 s). */
  retryDelayMs?: { first: number; max: number };
}

export interface CompletionReporter {
  /**
   * Reports a handler's outcome. A call that fails with UNAVAILABLE is sent again with backoff
   * while the lease lasts; one that fails for good is logged (the lease will expire), never thrown.
   */
  report(job: ReportedJob, outcome: JobOutcome): Promise<void>;
  /** Fails a job stop() gave up on as retryable (WORKER_SHUTDOWN); failures are logged. */
  handBack(job: ReportedJob): Promise<void>;
  /** From now on completions claim no next jobs (the worker is stopping). */
  stopClaiming(): void;
  /** Reports waiting to be retried give up now, and no new retries start (stop() timed out). */
  stopRetrying(): void;
}

const UNREPORTED = 'could not report the job outcome; its lease will expire';

/**
 * UNAVAILABLE: the service could not be reached, or the connection broke under the call. Only that
 * is retried (as the channel's retry policy does, `createGrpcClient`); a resent outcome is safe, as
 * it carries the lease token: if the first attempt was recorded after all, the service answers
 * the second with LEASE_LOST and changes nothing.
 */
function isTransient(err: unknown): boolean {
  return err instanceof ClientError && err.code === Status.UNAVAILABLE;
}

/**
 * The completion reporter: completions that finish while a call is in flight go together in the
 * next CompleteJobs (batchedCalls: GroupCommit, ≤ 100 entries and 1 MiB of results, one CompleteJob
 * per job when the service lacks or denies CompleteJobs), which also claims as many next jobs as
 * they free slots (claim_next), so a busy worker refills its slots without ClaimJobs calls.
 * Failures and cancellations go through FailJob.
 */
export function createCompletionReporter(settings: CompletionReporterSettings): CompletionReporter {
  const { client, logger } = settings;
  const delays = settings.retryDelayMs ?? { first: 100, max: 2_000 };
  let claiming = true;
  let retrying = true;
  /** Ends the backoff waits in progress (stopRetrying). */
  const backoffs = new Set<() => void>();
  const backoff = (ms: number) =>
    new Promise<void>((resolve) => {
      const end = () => {
        clearTimeout(timer);
        backoffs.delete(end);
        resolve();
      };
      const timer = setTimeout(end, ms);
      backoffs.add(end);
    });
  const complete = batchedCalls({
    path: '/trellis.job.v1.JobService/CompleteJobs',
    single: async (request: jobV1.CompleteJobRequest) => {
      await client.completeJob(request);
    },
    batch: async (completions) => {
      const response = await client.completeJobs({
        completions,
        claimNext: claiming
          ? { workerId: settings.workerId, types: settings.types, maxJobs: completions.length }
          : undefined,
      });
      settings.onClaimed(response.claimed);
      return response.results.map(({ status }) => ({ status, response: undefined }));
    },
    weigh: (request) => jsonSize(request.result),
    onUnavailable: (code) =>
      logger.info(
        { grpc_status: Status[code] },
        'CompleteJobs is unavailable to this worker; completing one job per call',
      ),
    maxInFlight: settings.maxInFlight,
  });

  /** A failure or cancellation, through FailJob. */
  async function fail(
    { jobId, leaseToken, log }: ReportedJob,
    outcome: Exclude<JobOutcome, { kind: 'completed' }>,
  ): Promise<void> {
    if (outcome.kind === 'cancelled') {
      await client.failJob({
        jobId,
        leaseToken,
        errorMessage: 'cancelled at the request of CancelJob',
        errorCode: 'CANCELLED',
        retryable: false,
      });
      log.info('job cancelled');
      return;
    }
    const failure = outcome.error;
    const message = failure instanceof Error ? failure.message || failure.name : String(failure);
    const response = await client.failJob({
      jobId,
      leaseToken,
      errorMessage: message || 'failed',
      errorCode: failure instanceof JobFailure ? failure.code : '',
      retryable: failure instanceof JobFailure ? failure.retryable : true,
    });
    log.warn({ err: failure, will_retry: response.willRetry }, 'job failed');
  }

  return {
    async report(job, outcome) {
      for (let attempt = 0; ; attempt++) {
        try {
          // The hot path (a completion) stays in this one async frame.
          if (outcome.kind === 'completed') {
            await complete({
              jobId: job.jobId,
              leaseToken: job.leaseToken,
              result: outcome.result,
            });
            job.log.debug('job completed');
          } else await fail(job, outcome);
          if (attempt > 0) job.log.info({ attempts: attempt + 1 }, 'job outcome reported');
          return;
        } catch (err) {
          const attempts = attempt + 1;
          if (attempt > 0 && !isTransient(err)) {
            // The attempt that failed with UNAVAILABLE may have reached the service before the
            // connection broke: then its outcome stands and this one finds the lease gone.
            job.log.warn(
              { err, attempts },
              'a retried job outcome was refused: an earlier attempt may have been recorded',
            );
            return;
          }
          const delay = Math.min(delays.max, delays.first * 2 ** attempt);
          const leaseEndsAt = job.leaseEndsAt?.() ?? 0;
          if (!isTransient(err) || !retrying || Date.now() + delay >= leaseEndsAt) {
            job.log.error({ err, attempts }, UNREPORTED);
            return;
          }
          // One warn line per job and outage; its later attempts log at debug.
          (attempt === 0 ? job.log.warn : job.log.debug).call(
            job.log,
            { err, retry_in_ms: delay },
            'could not report the job outcome; retrying',
          );
          await backoff(delay);
          if (!retrying) {
            job.log.error({ err, attempts }, UNREPORTED);
            return;
          }
        }
      }
    },
    async handBack({ jobId, leaseToken }) {
      try {
        await client.failJob({
          jobId,
          leaseToken,
          errorMessage: 'the worker stopped before the job finished',
          errorCode: 'WORKER_SHUTDOWN',
          retryable: true,
        });
      } catch (err) {
        logger.warn({ err, job_id: jobId }, 'could not fail an unfinished job');
      }
    },
    stopClaiming() {
      claiming = false;
    },
    stopRetrying() {
      retrying = false;
      for (const end of [...backoffs]) end();
    },
  };
}
