import { idViolation, ValidationError, type FieldViolation } from '@trellis/platform/errors';
import { complete, type Job, type JsonObject, type Transition } from '../../domain/job';
import type { JobTypeRegistry } from '../../domain/job-type';
import type { JobMetrics } from '../ports/job-metrics.port';
import type { JobRepository } from '../ports/job.repository.port';
import type { Runtime } from '../ports/runtime.port';
import { JOB_ID, requireBatchSize } from './job-input';

/** A worker's report that a job it holds succeeded (CompleteJob, CompleteJobs). */
export interface CompleteJobInput {
  jobId: string;
  leaseToken: string;
  result?: JsonObject;
}

/** The ports of the use cases that complete jobs (CompleteJob, CompleteAndClaimJobs). */
export interface CompletionDeps {
  jobs: JobRepository;
  types: JobTypeRegistry;
  runtime: Runtime;
  metrics: JobMetrics;
}

/** Throws what CompleteJobs refuses `inputs` with as a whole, before anything is written. */
export function validateCompletions(inputs: CompleteJobInput[]): void {
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

/**
 * The change that completes a job as `input` reports: LEASE_LOST for a stale token, and a result
 * larger than the job type's payload limit refused naming `result`.
 */
export function completionOf(
  types: JobTypeRegistry,
  input: CompleteJobInput,
  now: Date,
): (job: Job) => Transition {
  const result = input.result ?? {};
  const bytes = Buffer.byteLength(JSON.stringify(result), 'utf8');
  return (current) => {
    const transition = complete(current, input.leaseToken, result, now);
    const limit = types.has(current.type) ? types.get(current.type).maxPayloadBytes : bytes;
    if (bytes > limit)
      throw ValidationError.field(
        'result',
        `${bytes} bytes of JSON exceed the ${limit}-byte limit`,
      );
    return transition;
  };
}
