import {
  decodePageToken as decodeToken,
  encodePageToken as encodeToken,
  validPageSize,
} from '@trellis/platform/errors';

/** AIP-158: 0 → default, above the max → the max, negative → INVALID_ARGUMENT. */
export function pageSize(requested: number): number {
  return validPageSize('page_size', requested);
}

/** An opaque token of the last sort key and the filter it belongs to (the platform codec). */
export function encodePageToken(key: unknown[], filter: string): string {
  return encodeToken(key, filter);
}

const isSortKey = (key: unknown): key is unknown[] => Array.isArray(key);

/** Tokens issued before the shared codec (`{k, f}`); clients may still hold one. */
function legacySortKey(token: Record<string, unknown>, filter: string): unknown[] | undefined {
  return isSortKey(token.k) && token.f === filter ? token.k : undefined;
}

/** The sort key a token carries; REQUEST.INVALID_PAGE_TOKEN for a foreign or mismatched token. */
export function decodePageToken(token: string, filter: string): unknown[] | undefined {
  return decodeToken(token, filter, { isKey: isSortKey, legacy: legacySortKey });
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
