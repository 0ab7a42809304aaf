import { ValidationError, requireFields } from '@trellis/platform/errors';
import { assertLease, failAttempt, type Job } from '../domain/job';
import type { ClaimNotifier } from './support/claim-notifier';
import { JOB_ID } from './support/job-input';
import type { JobMetrics } from './ports/job-metrics.port';
import { outcomeOf, runMsOf } from './support/attempt-outcome';
import type { JobRepository } from './ports/job.repository.port';
import type { Runtime } from './ports/runtime.port';

export interface FailJobInput {
  jobId: string;
  leaseToken: string;
  errorMessage: string;
  errorCode: string;
  retryable: boolean;
}

export interface FailJobDeps {
  jobs: JobRepository;
  notifier: ClaimNotifier;
  runtime: Runtime;
  metrics: JobMetrics;
}

export class FailJob {
  constructor(private readonly deps: FailJobDeps) {}

  async execute(
    input: FailJobInput,
  ): Promise<{ job: Job; willRetry: boolean; nextRunAt: Date | null }> {
    requireFields({
      job_id: [input.jobId, JOB_ID],
      lease_token: input.leaseToken,
      error_message: input.errorMessage,
    });
    if (input.errorCode.length > 64)
      throw ValidationError.field('error_code', 'must be at most 64 characters');
    const now = this.deps.runtime.now();
    const job = await this.deps.jobs.update(input.jobId, (current) => {
      assertLease(current, input.leaseToken);
      return failAttempt(current, failureOf(input), now, this.deps.runtime.random());
    });
    const willRetry = job.state === 'PENDING';
    this.deps.metrics.attemptEnded(job, outcomeOf(job), runMsOf(job, now));
    if (willRetry) this.deps.notifier.notify(job.type, job.runAt);
    return { job, willRetry, nextRunAt: willRetry ? job.runAt : null };
  }
}

function failureOf(input: FailJobInput) {
  return {
    message: input.errorMessage.slice(0, 4096),
    code: input.errorCode,
    retryable: input.retryable,
  };
}
