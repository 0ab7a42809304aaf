import { createHash } from 'node:crypto';
import { AbortedError, type FieldViolation, ValidationError } from './domain-error';

/**
 * JSON with object members sorted by key and `undefined` members dropped (as JSON.stringify
 * drops them), so two equal requests give the same text whatever order their fields came in.
 */
export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value !== null && typeof value === 'object' && !(value instanceof Date)) {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : 1));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
  }
  return JSON.stringify(value) ?? 'null';
}

/**
 * The fingerprint an idempotency record keeps of the request that first used its key: sha256 of
 * the request's canonical JSON, base64url. Hash only what the caller asked for (e.g. `[operation,
 * ...fields]`), never ids or times the service chose.
 */
export function requestHash(request: unknown): string {
  return createHash('sha256').update(canonicalJson(request)).digest('base64url');
}

const SHA256_HEX = /^[0-9a-f]{64}$/;

/**
 * Whether a stored request hash is the one of the request now at hand (`hash`, from
 * `requestHash`). Notification records written before the hash was shared hold the same sha256
 * hex-encoded; they stay in MongoDB, so a hex hash is compared by its digest.
 */
export function sameRequest(stored: string, hash: string): boolean {
  if (stored === hash) return true;
  return SHA256_HEX.test(stored) && Buffer.from(stored, 'hex').toString('base64url') === hash;
}

const IDEMPOTENCY_KEY = /^[\x20-\x7e]{1,128}$/;

/**
 * The violation of an idempotency key field, if any: 1-128 printable ASCII characters; empty is
 * `is required` unless the key is optional.
 */
export function idempotencyKeyViolation(
  field: string,
  key: string,
  required: boolean,
): FieldViolation | undefined {
  if (key === '') return required ? { field, description: 'is required' } : undefined;
  if (!IDEMPOTENCY_KEY.test(key))
    return { field, description: 'must be 1-128 printable ASCII characters' };
  return undefined;
}

/** `key` when it is a valid idempotency key (see `idempotencyKeyViolation`), else INVALID_ARGUMENT. */
export function validIdempotencyKey(field: string, key: string, required: boolean): string {
  const violation = idempotencyKeyViolation(field, key, required);
  if (violation) throw new ValidationError([violation]);
  return key;
}

/**
 * ABORTED `<scope>.IDEMPOTENCY_KEY_REUSED` (e.g. `ACCOUNT.IDEMPOTENCY_KEY_REUSED`): the key was
 * used before with a different request.
 */
export function idempotencyKeyReused(scope: string, key: string): AbortedError {
  return new AbortedError(
    `${scope}.IDEMPOTENCY_KEY_REUSED`,
    'idempotency_key was already used with a different request; choose a new key',
    { idempotency_key: key },
  );
}

/**
 * The idempotency record `key` points to, when the request now at hand (`hash`) is the one that
 * made it, so the caller replays its answer; `idempotencyKeyReused(scope, key)` when the key was
 * used with another request.
 */
export function replayable<R extends { requestHash: string }>(
  record: R,
  hash: string,
  scope: string,
  key: string,
): R {
  if (!sameRequest(record.requestHash, hash)) throw idempotencyKeyReused(scope, key);
  return record;
}
