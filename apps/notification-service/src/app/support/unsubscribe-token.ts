import { CATEGORY_PATTERN } from '../../domain/category';
import type { KeyRing } from './key-ring';

/**
 * What an unsubscribe token stands for: the recipient of this notification leaves this list or
 * category. The token names the notification, not the address: it ends up in URLs, access logs
 * and mail headers, and an id reveals nothing; the address is looked up only when the opt-out is
 * written, never to verify.
 */
export interface UnsubscribeClaim {
  notificationId: string;
  /** A campaign list or a template category, e.g. `newsletter`. */
  list: string;
  expiresAt: Date;
}

export type TokenCheck =
  | { ok: true; claim: UnsubscribeClaim }
  | { ok: false; reason: 'malformed' | 'unknown-key' | 'bad-signature' | 'expired' };

const VERSION = 'u2';

/**
 * Per-recipient, per-list unsubscribe tokens, verified without a database:
 * `u2.<keyId>.<base64url payload>.<base64url HMAC-SHA256>`, the MAC over everything before it, the
 * payload `{"n":notification id,"l":list,"x":expiry in epoch seconds}`. The key id says which key of the ring
 * signed it, so rotated-out keys stop verifying exactly when removed from config.
 */
export class UnsubscribeTokens {
  constructor(
    private readonly keys: KeyRing,
    /** How long a token stays valid (mail is read weeks later; RFC 8058 asks for no login). */
    private readonly ttlMs: number,
  ) {}

  issue(notificationId: string, list: string, now: Date): string {
    const payload = {
      n: notificationId,
      l: list,
      x: Math.floor((now.getTime() + this.ttlMs) / 1000),
    };
    const head = `${VERSION}.${this.keys.currentId}.${Buffer.from(JSON.stringify(payload)).toString('base64url')}`;
    return `${head}.${this.keys.sign(head).toString('base64url')}`;
  }

  verify(token: string, now: Date): TokenCheck {
    const parts = token.split('.');
    if (parts.length !== 4 || parts[0] !== VERSION) return { ok: false, reason: 'malformed' };
    const [, keyId, body, mac] = parts;
    if (!this.keys.has(keyId)) return { ok: false, reason: 'unknown-key' };
    if (!/^[A-Za-z0-9_-]+$/.test(mac) || !/^[A-Za-z0-9_-]+$/.test(body)) {
      return { ok: false, reason: 'malformed' };
    }
    const head = `${VERSION}.${keyId}.${body}`;
    if (!this.keys.verify(head, Buffer.from(mac, 'base64url'), keyId)) {
      return { ok: false, reason: 'bad-signature' };
    }
    const claim = parseClaim(Buffer.from(body, 'base64url').toString('utf8'));
    if (!claim) return { ok: false, reason: 'malformed' };
    if (claim.expiresAt.getTime() <= now.getTime()) return { ok: false, reason: 'expired' };
    return { ok: true, claim };
  }
}

function parseClaim(json: string): UnsubscribeClaim | undefined {
  let value: unknown;
  try {
    value = JSON.parse(json);
  } catch {
    return undefined;
  }
  if (typeof value !== 'object' || value === null) return undefined;
  const { n, l, x } = value as Record<string, unknown>;
  if (typeof n !== 'string' || typeof l !== 'string' || typeof x !== 'number') return undefined;
  if (n.length === 0 || !Number.isSafeInteger(x)) return undefined;
  // Signed is not enough: the list becomes a stored opt-out and a line of the page.
  if (!CATEGORY_PATTERN.test(l)) return undefined;
  return { notificationId: n, list: l, expiresAt: new Date(x * 1000) };
}
