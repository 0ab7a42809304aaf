import { ValidationError } from '@trellis/platform/errors';

export const DEFAULT_PAGE_SIZE = 50;
export const MAX_PAGE_SIZE = 1000;
export const INVALID_PAGE_TOKEN = 'NOTIFICATION.INVALID_PAGE_TOKEN';

/** AIP-158: 0 → default, above the max → the max, negative → INVALID_ARGUMENT. */
export function pageSize(requested: number): number {
  if (requested < 0) throw ValidationError.field('page_size', 'must not be negative');
  if (requested === 0) return DEFAULT_PAGE_SIZE;
  return Math.min(requested, MAX_PAGE_SIZE);
}

/** An opaque token: base64url of the last sort key and a fingerprint of the filter. */
export function encodePageToken(key: unknown[], filter: string): string {
  return Buffer.from(JSON.stringify({ k: key, f: filter })).toString('base64url');
}

/** The sort key a token carries; INVALID_PAGE_TOKEN for a foreign or mismatched token. */
export function decodePageToken(token: string, filter: string): unknown[] | undefined {
  if (!token) return undefined;
  try {
    const parsed = JSON.parse(Buffer.from(token, 'base64url').toString('utf8')) as {
      k?: unknown;
      f?: unknown;
    };
    if (Array.isArray(parsed.k) && parsed.f === filter) return parsed.k;
  } catch {
    // fall through
  }
  throw new ValidationError(
    [{ field: 'page_token', description: 'is not a token this service issued for this filter' }],
    INVALID_PAGE_TOKEN,
  );
}

export interface Page<T> {
  items: T[];
  nextPageToken: string;
}

/** Builds a page from `limit + 1` fetched rows. */
export function toPage<T>(
  rows: T[],
  limit: number,
  keyOf: (row: T) => unknown[],
  filter: string,
): Page<T> {
  const items = rows.slice(0, limit);
  const more = rows.length > limit;
  return {
    items,
    nextPageToken:
      more && items.length > 0 ? encodePageToken(keyOf(items[items.length - 1]), filter) : '',
  };
}
