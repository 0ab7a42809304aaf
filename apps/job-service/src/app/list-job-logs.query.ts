import {
  decodePageToken,
  encodePageToken,
  NotFoundError,
  requireFields,
  validPageSize,
} from '@trellis/platform/errors';
import type { JobLogLine } from '../domain/job-log';
import { JOB_ID } from './support/job-input';
import type { JobRepository } from './ports/job.repository.port';
import type { JobLogRepository } from './ports/job-log.repository.port';

export interface ListJobLogsDeps {
  jobs: Pick<JobRepository, 'findById'>;
  logs: JobLogRepository;
}

const isSeq = (key: unknown): key is number => typeof key === 'number' && Number.isInteger(key);

/** A job's log lines, oldest first, paged by line number (AIP-158 tokens scoped to the job). */
export class ListJobLogs {
  constructor(private readonly deps: ListJobLogsDeps) {}

  async execute(input: {
    jobId: string;
    pageSize: number;
    pageToken: string;
  }): Promise<{ lines: JobLogLine[]; nextPageToken: string; dropped: number }> {
    requireFields({ job_id: [input.jobId, JOB_ID] });
    const pageSize = validPageSize('page_size', input.pageSize);
    const scope = `job-logs:${input.jobId}`;
    const after = decodePageToken(input.pageToken, scope, { isKey: isSeq }) ?? 0;
    const log = await this.deps.logs.findByJobId(input.jobId);
    if (!log) {
      if (!(await this.deps.jobs.findById(input.jobId)))
        throw new NotFoundError('job', input.jobId);
      return { lines: [], nextPageToken: '', dropped: 0 };
    }
    const rest = log.lines.filter((line) => line.seq > after);
    const lines = rest.slice(0, pageSize);
    const last = lines[lines.length - 1];
    const nextPageToken =
      rest.length > lines.length && last ? encodePageToken(last.seq, scope) : '';
    return { lines, nextPageToken, dropped: log.dropped };
  }
}
