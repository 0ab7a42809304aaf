import {
  decodePageToken as decodeToken,
  encodePageToken as encodeToken,
  requestHash,
  timeRangeViolation,
  validPageSize,
  ValidationError,
} from '@trellis/platform/errors';
import { MAX_RESPONSE_JSON_BYTES, type Job } from '../domain/job';
import type { JobTypeRegistry } from '../domain/job-type';
import type { ListCursor, ListJobsFilter, JobRepository } from './job.repository.port';

/** The filters a page token belongs to, short: what older tokens carry as `f`, too. */
function filterFingerprint(filter: ListJobsFilter): string {
  return requestHash([
    filter.type ?? '',
    filter.state ?? '',
    filter.createdAfter?.getTime() ?? null,
    filter.createdBefore?.getTime() ?? null,
  ]).slice(0, 12);
}

/** The sort key a page token carries: the last job's creation time (ms) and id. */
type CursorKey = [createdAtMs: number, id: string];

function isCursorKey(key: unknown): key is CursorKey {
  return (
    Array.isArray(key) &&
    key.length === 2 &&
    typeof key[0] === 'number' &&
    typeof key[1] === 'string'
  );
}

/** Tokens issued before the shared codec (`{c, i, f}`); clients may still hold one. */
function legacyCursorKey(token: Record<string, unknown>, scope: string): CursorKey | undefined {
  const { c, i, f } = token;
  return typeof c === 'number' && typeof i === 'string' && f === scope ? [c, i] : undefined;
}

/** AIP-158 page token: the last job's sort key and the filters it belongs to. */
export function encodePageToken(cursor: ListCursor, filter: ListJobsFilter): string {
  return encodeToken([cursor.createdAt.getTime(), cursor.id], filterFingerprint(filter));
}

export function decodePageToken(token: string, filter: ListJobsFilter): ListCursor | null {
  const key = decodeToken(token, filterFingerprint(filter), {
    isKey: isCursorKey,
    legacy: legacyCursorKey,
  });
  return key ? { createdAt: new Date(key[0]), id: key[1] } : null;
}

export class ListJobs {
  constructor(
    private readonly repository: JobRepository,
    private readonly types: JobTypeRegistry,
  ) {}

  async execute(input: {
    pageSize: number;
    pageToken: string;
    filter: ListJobsFilter;
  }): Promise<{ jobs: Job[]; nextPageToken: string }> {
    const pageSize = validPageSize('page_size', input.pageSize);
    // Filters no job can match are refused, naming the field, rather than answered with nothing.
    if (input.filter.type !== undefined) this.types.get(input.filter.type, 'type');
    const range = timeRangeViolation(
      { field: 'created_after', value: input.filter.createdAfter },
      { field: 'created_before', value: input.filter.createdBefore },
    );
    if (range) throw new ValidationError([range]);
    const after = decodePageToken(input.pageToken, input.filter);
    const rows = await this.repository.list(input.filter, after, pageSize + 1);
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
