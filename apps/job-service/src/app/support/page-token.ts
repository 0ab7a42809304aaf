import {
  decodePageToken as decodeToken,
  encodePageToken as encodeToken,
  requestHash,
} from '@trellis/platform/errors';
import type { ListCursor, ListJobsFilter } from '../ports/job.repository.port';

/** The filters a page token belongs to, short: what older tokens carry as `f`, too. */
function filterFingerprint(filter: ListJobsFilter): string {
  return requestHash([
    filter.type ?? '',
    filter.state ?? '',
    filter.createdAfter?.getTime() ?? null,
    filter.createdBefore?.getTime() ?? null,
    // Only when set, so tokens issued before the filter existed stay valid.
    ...(filter.parentId === undefined ? [] : [filter.parentId]),
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
