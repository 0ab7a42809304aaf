import { ValidationError, type FieldViolation, requireFields } from '@trellis/platform/errors';
import { heartbeat, type JobProgress } from '../domain/job';
import { JOB_ID } from './support/job-input';
import type { JobRepository } from './ports/job.repository.port';
import type { Runtime } from './ports/runtime.port';

export interface HeartbeatJobInput {
  jobId: string;
  leaseToken: string;
  progress?: Omit<JobProgress, 'updatedAt'>;
  leaseExtensionMs?: number;
}

export interface HeartbeatJobDeps {
  jobs: JobRepository;
  runtime: Runtime;
}

export class HeartbeatJob {
  constructor(private readonly deps: HeartbeatJobDeps) {}

  async execute(
    input: HeartbeatJobInput,
  ): Promise<{ leaseExpiresAt: Date; cancelRequested: boolean }> {
    requireFields({ job_id: [input.jobId, JOB_ID], lease_token: input.leaseToken });
    const violations: FieldViolation[] = [];
    const p = input.progress;
    if (p) {
      if (!(p.percent >= 0 && p.percent <= 100))
        violations.push({ field: 'progress.percent', description: 'must be between 0 and 100' });
      if (p.message.length > 512)
        violations.push({
          field: 'progress.message',
          description: 'must be at most 512 characters',
        });
      const keys = Object.keys(p.counters);
      if (keys.length > 32)
        violations.push({ field: 'progress.counters', description: 'at most 32 counters' });
      for (const key of keys)
        if (key.length === 0 || key.length > 64)
          violations.push({
            field: `progress.counters[${key}]`,
            description: 'keys are 1-64 characters',
          });
    }
    const ext = input.leaseExtensionMs;
    if (ext !== undefined && (ext < 1000 || ext > 3_600_000))
      violations.push({ field: 'lease_extension', description: 'must be between 1 s and 1 h' });
    if (violations.length > 0) throw new ValidationError(violations);
    const now = this.deps.runtime.now();
    const job = await this.deps.jobs.update(input.jobId, (current) => ({
      job: heartbeat(current, input.leaseToken, p ?? null, ext ?? null, now),
      events: [],
    }));
    return { leaseExpiresAt: job.leaseExpiresAt ?? now, cancelRequested: job.cancelRequested };
  }
}
