import {
  idViolation,
  timeRangeViolation,
  validPageSize,
  ValidationError,
} from '@trellis/platform/errors';
import { MAX_RESPONSE_JSON_BYTES, type Job } from '../domain/job';
import type { JobTypeRegistry } from '../domain/job-type';
import type { JobRepository, ListJobsFilter } from './ports/job.repository.port';
import { JOB_ID } from './support/job-input';
import { decodePageToken, encodePageToken } from './support/page-token';

export interface ListJobsDeps {
  jobs: JobRepository;
  types: JobTypeRegistry;
}

export class ListJobs {
  constructor(private readonly deps: ListJobsDeps) {}

  async execute(input: {
    pageSize: number;
    pageToken: string;
    filter: ListJobsFilter;
  }): Promise<{ jobs: Job[]; nextPageToken: string }> {
    const pageSize = validPageSize('page_size', input.pageSize);
    // Filters no job can match are refused, naming the field, rather than answered with nothing.
    if (input.filter.type !== undefined) this.deps.types.get(input.filter.type, 'type');
    const range = timeRangeViolation(
      { field: 'created_after', value: input.filter.createdAfter },
      { field: 'created_before', value: input.filter.createdBefore },
    );
    if (range) throw new ValidationError([range]);
    const parent =
      input.filter.parentId === undefined
        ? undefined
        : idViolation('parent_id', input.filter.parentId, JOB_ID);
    if (parent) throw new ValidationError([parent]);
    const after = decodePageToken(input.pageToken, input.filter);
    const rows = await this.deps.jobs.list(input.filter, after, pageSize + 1);
    // A page ends early at MAX_RESPONSE_JSON_BYTES of payloads and results (AIP-158 allows fewer).
    let bytes = 0;
    let size = 0;
    while (size < Math.min(pageSize, rows.length)) {
      bytes += JSON.stringify(rows[size].payload).length + JSON.stringify(rows[size].result).length;
      if (size > 0 && bytes > MAX_RESPONSE_JSON_BYTES) break;
      size++;
    }
    const jobs = rows.slice(0, size);
    const last = jobs[jobs.length - 1];
    const nextPageToken =
      rows.length > size && last
        ? encodePageToken({ createdAt: last.createdAt, id: last.id }, input.filter)
        : '';
    return { jobs, nextPageToken };
  }
}
