import { requireFields, ValidationError } from '@trellis/platform/errors';
import { appendLogLines, type JobLogLimits } from '../domain/job-log';
import type { JobTypeRegistry } from '../domain/job-type';
import { JOB_ID, requireBatchSize } from './support/job-input';
import type { JobLogRepository } from './ports/job-log.repository.port';
import type { Runtime } from './ports/runtime.port';

export interface AppendJobLogsInput {
  jobId: string;
  leaseToken: string;
  lines: Array<{ message: string; loggedAt?: Date }>;
}

export interface AppendJobLogsDeps {
  logs: JobLogRepository;
  types: JobTypeRegistry;
  runtime: Runtime;
  /** The bounds of a type that sets none (JOB_LOG_MAX_LINES, JOB_LOG_MAX_BYTES). */
  defaultLimits: JobLogLimits;
}

/** A worker appends log lines to its RUNNING job, under its lease; the job keeps the newest. */
export class AppendJobLogs {
  constructor(private readonly deps: AppendJobLogsDeps) {}

  async execute(input: AppendJobLogsInput): Promise<{ lineCount: number; dropped: number }> {
    requireFields({ job_id: [input.jobId, JOB_ID], lease_token: input.leaseToken });
    requireBatchSize('lines', input.lines.length);
    const empty = input.lines.findIndex((line) => line.message === '');
    if (empty >= 0) throw ValidationError.field(`lines[${empty}].message`, 'is required');
    const { logs, types, runtime, defaultLimits } = this.deps;
    const now = runtime.now();
    const log = await logs.append(input.jobId, (job, current) => {
      const type = types.has(job.type) ? types.get(job.type) : undefined;
      const limits = {
        maxLines: type?.maxLogLines ?? defaultLimits.maxLines,
        maxBytes: type?.maxLogBytes ?? defaultLimits.maxBytes,
      };
      return appendLogLines(current, job, input.leaseToken, input.lines, limits, now);
    });
    return { lineCount: log.lines.length, dropped: log.dropped };
  }
}
