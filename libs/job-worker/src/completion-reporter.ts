import { Status } from 'nice-grpc-common';
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
}

export interface CompletionReporter {
  /** Reports a handler's outcome; a call that fails is logged (the lease will expire), never thrown. */
  report(job: ReportedJob, outcome: JobOutcome): Promise<void>;
  /** Fails a job stop() gave up on as retryable (WORKER_SHUTDOWN); failures are logged. */
  handBack(job: ReportedJob): Promise<void>;
  /** From now on completions claim no next jobs (the worker is stopping). */
  stopClaiming(): void;
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
  let claiming = true;
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
      try {
        // The hot path (a completion) stays in this one async frame.
        if (outcome.kind === 'completed') {
          await complete({ jobId: job.jobId, leaseToken: job.leaseToken, result: outcome.result });
          job.log.debug('job completed');
        } else await fail(job, outcome);
      } catch (err) {
        job.log.error({ err }, 'could not report the job outcome; its lease will expire');
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
  };
}
