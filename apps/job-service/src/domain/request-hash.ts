import { createHash } from 'node:crypto';

function canonical(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(canonical);
  if (value !== null && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const key of Object.keys(value).sort())
      out[key] = canonical((value as Record<string, unknown>)[key]);
    return out;
  }
  return value;
}

/** A fingerprint of what an idempotency key protects: the type and the payload (key order ignored). */
export function requestHash(type: string, payload: unknown): string {
  return createHash('sha256')
    .update(JSON.stringify([type, canonical(payload)]))
    .digest('base64url');
}
