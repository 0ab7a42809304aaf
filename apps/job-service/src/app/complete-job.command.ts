import { ValidationError } from '@trellis/platform/errors';
import { complete, type Job, type JsonObject } from '../domain/job';
import type { JobTypeRegistry } from '../domain/job-type';
import { requireFields } from './job-input';
import { runMsOf, type JobMetrics } from './job-metrics.port';
import type { JobRepository } from './job.repository.port';
import type { Runtime } from './runtime.port';

export class CompleteJob {
  constructor(
    private readonly repository: JobRepository,
    private readonly types: JobTypeRegistry,
    private readonly runtime: Runtime,
    private readonly metrics: JobMetrics,
  ) {}

  async execute(input: { jobId: string; leaseToken: string; result?: JsonObject }): Promise<Job> {
    requireFields({ job_id: input.jobId, lease_token: input.leaseToken });
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
