import { ValidationError, requireFields } from '@trellis/platform/errors';
import { assertLease, failAttempt, type Job } from '../domain/job';
import type { ClaimNotifier } from './claim-notifier';
import { JOB_ID } from './job-input';
import { outcomeOf, runMsOf, type JobMetrics } from './job-metrics.port';
import type { JobRepository } from './job.repository.port';
import type { Runtime } from './runtime.port';

export interface FailJobInput {
  jobId: string;
  leaseToken: string;
  errorMessage: string;
  errorCode: string;
  retryable: boolean;
}

export class FailJob {
  constructor(
    private readonly repository: JobRepository,
    private readonly notifier: ClaimNotifier,
    private readonly runtime: Runtime,
    private readonly metrics: JobMetrics,
  ) {}

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
    const now = this.runtime.now();
    const job = await this.repository.update(input.jobId, (current) => {
      assertLease(current, input.leaseToken);
      return failAttempt(current, failureOf(input), now, this.runtime.random());
    });
    const willRetry = job.state === 'PENDING';
    this.metrics.attemptEnded(job, outcomeOf(job), runMsOf(job, now));
    if (willRetry) this.notifier.notify(job.type, job.runAt);
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
