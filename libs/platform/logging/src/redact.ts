/**
 * Key names whose values never reach a log line, at any depth, compared case-insensitively with
 * `-` and `_` ignored: credentials, tokens, and the bodies of emails (which carry personal data).
 */
const SECRET_KEYS = new Set(
  [
    'authorization',
    'password',
    'passwd',
    'secret',
    'clientsecret',
    'token',
    'accesstoken',
    'refreshtoken',
    'idtoken',
    'servicetoken',
    'apikey',
    'cookie',
    'setcookie',
    'privatekey',
    'body',
    'html',
    'text',
    'htmlbody',
    'textbody',
    'variables',
  ].map(normalizeKey),
);

/** Substrings of a URL-ish or free-text value that are credentials (`user:pass@host`, `Bearer …`). */
const INLINE_SECRETS: Array<[RegExp, string]> = [
  [/(\b[a-z][a-z0-9+.-]*:\/\/)([^/\s:@]+):([^/\s@]+)@/gi, '$1$2:[REDACTED]@'],
  [/\bBearer\s+[A-Za-z0-9._~+/=-]+/g, 'Bearer [REDACTED]'],
];

/** An email address: any local part RFC 5322 allows unquoted, a domain with a dot. */
const EMAIL =
  /([A-Za-z0-9!#$%&'*+/=?^_`{|}~-])[A-Za-z0-9!#$%&'*+/=?^_`{|}~.-]*@((?:[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?\.)+[A-Za-z]{2,})/g;

/**
 * Masks every email address in `text`, keeping its first character and its domain
 * (`nobody@example.com` → `n***@example.com`): enough to tell domains and typos apart in an
 * incident, not enough to name anyone. Idempotent.
 */
export function maskEmails(text: string): string {
  return text.includes('@') ? text.replace(EMAIL, '$1***@$2') : text;
}

export const REDACTED = '[REDACTED]';
const MAX_DEPTH = 8;

function normalizeKey(key: string): string {
  return key.toLowerCase().replace(/[-_]/g, '');
}

/**
 * Answers by key, as spelled: a service logs the same few dozen keys on every line, so each is
 * normalized once. Bounded (cleared when full), as keys may come from request data.
 */
const secretKeyCache = new Map<string, boolean>();
const SECRET_KEY_CACHE_SIZE = 1024;

export function isSecretKey(key: string): boolean {
  let secret = secretKeyCache.get(key);
  if (secret === undefined) {
    secret = SECRET_KEYS.has(normalizeKey(key));
    if (secretKeyCache.size >= SECRET_KEY_CACHE_SIZE) secretKeyCache.clear();
    secretKeyCache.set(key, secret);
  }
  return secret;
}

/**
 * The longest string a log line carries; longer ones are cut and marked. Values may quote client
 * input (an id, an error's message): a 1 MB request field must not become a 1 MB log line.
 */
export const MAX_LOG_STRING = 2048;

export function redactString(value: string): string {
  if (!mayHoldInlineSecret(value)) return value;
  let out =
    value.length > MAX_LOG_STRING
      ? `${value.slice(0, MAX_LOG_STRING)}… (${value.length - MAX_LOG_STRING} more characters)`
      : value;
  for (const [pattern, replacement] of INLINE_SECRETS) out = out.replace(pattern, replacement);
  return out;
}

// True also for a string too long to log whole: it is cut like a secret is masked.
function mayHoldInlineSecret(value: string): boolean {
  return value.length > MAX_LOG_STRING || value.includes('@') || value.includes('earer');
}

/**
 * True when `value` holds nothing `redact` would change. Checked first so the common log line
 * (ids, codes, durations) is passed through without being copied: logging is on every RPC's path.
 */
function isClean(value: unknown, depth: number): boolean {
  if (typeof value === 'string') return !mayHoldInlineSecret(value);
  if (value === null || typeof value !== 'object') return true;
  if (depth >= MAX_DEPTH || value instanceof Error || Array.isArray(value)) return false;
  if (value instanceof Date || Buffer.isBuffer(value) || ArrayBuffer.isView(value)) return true;
  for (const key in value) {
    if (isSecretKey(key) || !isClean((value as Record<string, unknown>)[key], depth + 1))
      return false;
  }
  return true;
}

/**
 * Returns `value` itself when it holds nothing to redact, otherwise a copy with secret keys
 * replaced; Errors keep their type, message and stack.
 */
export function redact(value: unknown): unknown {
  return isClean(value, 0) ? value : redactCopy(value, 0, new WeakSet<object>());
}

function redactCopy(value: unknown, depth: number, seen: WeakSet<object>): unknown {
  if (typeof value === 'string') return redactString(value);
  if (value === null || typeof value !== 'object') return value;
  if (seen.has(value)) return '[Circular]';
  if (depth >= MAX_DEPTH) return '[Truncated]';
  seen.add(value);
  if (Array.isArray(value)) return value.map((item) => redactCopy(item, depth + 1, seen));
  if (value instanceof Error) {
    // Keep the prototype so pino's error serializer still reports the error's type.
    const error = Object.create(Object.getPrototypeOf(value)) as Error & Record<string, unknown>;
    Object.defineProperty(error, 'message', {
      value: redactString(value.message),
      enumerable: false,
    });
    Object.defineProperty(error, 'stack', {
      value: value.stack === undefined ? undefined : redactString(value.stack),
      enumerable: false,
    });
    for (const [key, v] of Object.entries(value)) {
      error[key] = isSecretKey(key) ? REDACTED : redactCopy(v, depth + 1, seen);
    }
    return error;
  }
  if (value instanceof Date || Buffer.isBuffer(value) || ArrayBuffer.isView(value)) return value;
  const out: Record<string, unknown> = {};
  for (const [key, v] of Object.entries(value)) {
    out[key] = isSecretKey(key) ? REDACTED : redactCopy(v, depth + 1, seen);
  }
  return out;
}
