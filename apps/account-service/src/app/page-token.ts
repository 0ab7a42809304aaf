import { invalidPageToken } from '../domain/errors';

// AIP-158 page tokens: opaque base64url of the last sort key plus a fingerprint of the request
// they belong to, so a token used with other filters (or another account) is rejected.

export function encodePageToken(key: string | number, scope: string): string {
  return Buffer.from(JSON.stringify({ k: key, s: scope })).toString('base64url');
}

export function decodePageToken<K extends 'string' | 'number'>(
  token: string,
  scope: string,
  keyType: K,
): (K extends 'string' ? string : number) | undefined {
  if (token === '') return undefined;
  let parsed: unknown;
  try {
    if (!/^[A-Za-z0-9_-]+$/.test(token)) throw new Error('not base64url');
    parsed = JSON.parse(Buffer.from(token, 'base64url').toString('utf8'));
  } catch {
    throw invalidPageToken();
  }
  if (
    typeof parsed !== 'object' ||
    parsed === null ||
    (parsed as { s?: unknown }).s !== scope ||
    typeof (parsed as { k?: unknown }).k !== keyType
  ) {
    throw invalidPageToken();
  }
  return (parsed as { k: K extends 'string' ? string : number }).k;
}
