import { outcomeOf, type BatchOutcome } from '@trellis/platform/batching';
import {
  idViolation,
  requireFields,
  ValidationError,
  type FieldViolation,
} from '@trellis/platform/errors';
import { complete, type Job, type JsonObject } from '../domain/job';
import type { JobTypeRegistry } from '../domain/job-type';
import { JOB_ID, requireBatchSize } from './job-input';
import { runMsOf, type JobMetrics } from './job-metrics.port';
import type { JobRepository } from './job.repository.port';
import type { Runtime } from './runtime.port';

export interface CompleteJobInput {
  jobId: string;
  leaseToken: string;
  result?: JsonObject;
}

export class CompleteJob {
  constructor(
    private readonly repository: JobRepository,
    private readonly types: JobTypeRegistry,
    private readonly runtime: Runtime,
    private readonly metrics: JobMetrics,
  ) {}

  /**
   * Completes several jobs, each on its own (CompleteJobs): one entry's LEASE_LOST does not stop
   * the others. A malformed list fails as a whole before anything is written.
   */
  async executeMany(inputs: CompleteJobInput[]): Promise<Array<BatchOutcome<Job>>> {
    this.validateMany(inputs);
    // Submitted together, the entries share the repository's next group commit.
    return Promise.all(inputs.map((input) => outcomeOf(this.execute(input))));
  }

  /** Throws what `executeMany` would refuse `inputs` with as a whole. */
  validateMany(inputs: CompleteJobInput[]): void {
    requireBatchSize('completions', inputs.length);
    const violations: FieldViolation[] = [];
    const seen = new Set<string>();
    inputs.forEach(({ jobId, leaseToken }, i) => {
      const malformed = idViolation(`completions[${i}].job_id`, jobId, JOB_ID);
      if (malformed) violations.push(malformed);
      else if (seen.has(jobId))
        violations.push({
          field: `completions[${i}].job_id`,
          description: 'repeats an earlier entry',
        });
      if (leaseToken === '')
        violations.push({ field: `completions[${i}].lease_token`, description: 'is required' });
      seen.add(jobId);
    });
    if (violations.length > 0) throw new ValidationError(violations);
  }

  async execute(input: CompleteJobInput): Promise<Job> {
    requireFields({ job_id: [input.jobId, JOB_ID], lease_token: input.leaseToken });
    const result = input.result ?? {};
    const bytes = Buffer.byteLength(JSON.stringify(result), 'utf8');
    const now = this.runtime.now();
    const job = await this.repository.update(input.jobId, (current) => {
      const transition = complete(current, input.leaseToken, result, now);
      const limit = this.types.has(current.type)
        ? this.types.get(current.type).maxPayloadBytes
        : bytes;
      if (bytes > limit)
        throw ValidationError.field(
          'result',
          `${bytes} bytes of JSON exceed the ${limit}-byte limit`,
        );
      return transition;
    });
    this.metrics.attemptEnded(job, 'succeeded', runMsOf(job, now));
    return job;
  }
}
