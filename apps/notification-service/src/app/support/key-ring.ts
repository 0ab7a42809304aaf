import { createHmac, timingSafeEqual } from 'node:crypto';

/**
 * HMAC-SHA256 keys by id: one signs (the current id), every listed one still verifies, so a key can
 * be rotated by adding a new one as current and dropping the old one once its tokens have expired.
 * Parsed from `kid:secret,kid:secret` (config, usually a `*_FILE` secret); a secret is at least 16
 * characters; key ids are 1-16 characters of `[A-Za-z0-9_-]` (they travel inside tokens).
 */
export class KeyRing {
  private constructor(
    readonly currentId: string,
    private readonly keys: ReadonlyMap<string, Buffer>,
  ) {}

  /** Throws with a sentence naming what is wrong (config errors are reported at start). */
  static parse(spec: string, currentId?: string): KeyRing {
    const keys = new Map<string, Buffer>();
    for (const part of spec.split(',').map((p) => p.trim())) {
      if (!part) continue;
      const colon = part.indexOf(':');
      const id = colon > 0 ? part.slice(0, colon) : '';
      const secret = colon > 0 ? part.slice(colon + 1) : '';
      if (!/^[A-Za-z0-9_-]{1,16}$/.test(id))
        throw new Error(`key id "${id}" must be 1-16 of [A-Za-z0-9_-]`);
      if (secret.length < 16)
        throw new Error(`key ${id}: the secret must be at least 16 characters`);
      if (keys.has(id)) throw new Error(`key ${id} is listed twice`);
      keys.set(id, Buffer.from(secret, 'utf8'));
    }
    if (keys.size === 0) throw new Error('no keys given (expected kid:secret[,kid:secret…])');
    const current = currentId || [...keys.keys()][0];
    if (!keys.has(current)) throw new Error(`the current key id ${current} is not among the keys`);
    return new KeyRing(current, keys);
  }

  /** The MAC of `data` under the current key (or under `keyId`). */
  sign(data: string, keyId: string = this.currentId): Buffer {
    const key = this.keys.get(keyId);
    if (!key) throw new Error(`unknown key id ${keyId}`);
    return createHmac('sha256', key).update(data).digest();
  }

  /**
   * True when `mac` is the MAC of `data` under `keyId`, or under any key when `keyId` is undefined
   * (addresses too short to carry an id). `truncate` compares only the first bytes. Constant time
   * per key.
   */
  verify(data: string, mac: Buffer, keyId?: string, truncate?: number): boolean {
    const ids = keyId === undefined ? [...this.keys.keys()] : this.keys.has(keyId) ? [keyId] : [];
    let ok = false;
    for (const id of ids) {
      const expected = this.sign(data, id).subarray(0, truncate ?? 32);
      // timingSafeEqual throws on a length mismatch; a length is not secret.
      if (expected.length === mac.length && timingSafeEqual(expected, mac)) ok = true;
    }
    return ok;
  }

  has(keyId: string): boolean {
    return this.keys.has(keyId);
  }
}
