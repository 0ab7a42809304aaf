import { type FieldViolation, ValidationError } from './domain-error';

/** AIP-158 page sizes: 0 asks for the default, more than the maximum gets the maximum. */
export const DEFAULT_PAGE_SIZE = 50;
export const MAX_PAGE_SIZE = 1000;

/** The violation of a page size field, if any: only a negative size is invalid. */
export function pageSizeViolation(field: string, requested: number): FieldViolation | undefined {
  return requested < 0 ? { field, description: 'must not be negative' } : undefined;
}

/** The rows a page holds for a requested size (see `pageSizeViolation` for the invalid ones). */
export function pageSizeOf(requested: number): number {
  return requested <= 0 ? DEFAULT_PAGE_SIZE : Math.min(requested, MAX_PAGE_SIZE);
}

/** `pageSizeOf(requested)` for a valid size, else INVALID_ARGUMENT naming `field`. */
export function validPageSize(field: string, requested: number): number {
  const violation = pageSizeViolation(field, requested);
  if (violation) throw new ValidationError([violation]);
  return pageSizeOf(requested);
}

/** The one error code of a page token that fails to decode, in every service. */
export const INVALID_PAGE_TOKEN = 'REQUEST.INVALID_PAGE_TOKEN';

/** INVALID_ARGUMENT naming `page_token`, reason INVALID_PAGE_TOKEN. */
export function invalidPageToken(): ValidationError {
  return new ValidationError(
    [{ field: 'page_token', description: 'is not a token this service issued for this request' }],
    INVALID_PAGE_TOKEN,
  );
}

/**
 * AIP-158 page tokens: opaque base64url JSON of the last row's sort key (`k`) and the scope of the
 * request it belongs to (`s`: the list and its filters), so a token used with other filters is
 * refused rather than answered with the wrong page.
 */
export function encodePageToken(key: unknown, scope: string): string {
  return Buffer.from(JSON.stringify({ k: key, s: scope })).toString('base64url');
}

export interface DecodePageTokenOptions<K> {
  /** Whether a decoded key has the shape this list sorts by. */
  isKey: (key: unknown) => key is K;
  /**
   * Reads a token of an older shape, for tokens clients still hold: the key, or undefined when it
   * is not one for a request of `scope`.
   */
  legacy?: (token: Record<string, unknown>, scope: string) => K | undefined;
}

/**
 * The sort key `token` carries for a request of `scope`; undefined for no token (the first page);
 * `invalidPageToken()` for a token that is not base64url JSON, of another scope or key shape.
 */
export function decodePageToken<K>(
  token: string,
  scope: string,
  options: DecodePageTokenOptions<K>,
): K | undefined {
  if (token === '') return undefined;
  let parsed: unknown;
  try {
    if (!/^[A-Za-z0-9_-]+$/.test(token)) throw new Error('not base64url');
    parsed = JSON.parse(Buffer.from(token, 'base64url').toString('utf8'));
  } catch {
    throw invalidPageToken();
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed))
    throw invalidPageToken();
  const fields = parsed as Record<string, unknown>;
  if ('s' in fields) {
    if (fields.s === scope && options.isKey(fields.k)) return fields.k;
    throw invalidPageToken();
  }
  const key = options.legacy?.(fields, scope);
  if (key === undefined) throw invalidPageToken();
  return key;
}
