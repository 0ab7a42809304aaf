import { randomBytes } from 'node:crypto';
import type { IdFormat } from '@trellis/platform/errors';

// Service-issued ids are a type prefix plus a ULID (Crockford base32, 48-bit millisecond time +
// 80 random bits, monotonic within the process), so ids sort by creation time.
const ALPHABET = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';
const ULID = '[0-9A-HJKMNP-TV-Z]{26}';

let lastTime = -1;
let lastRandom = 0n;

function encode(value: bigint, length: number): string {
  let out = '';
  for (let i = 0; i < length; i++) {
    out = ALPHABET[Number(value & 31n)] + out;
    value >>= 5n;
  }
  return out;
}

/** A monotonic ULID: later calls in this process always sort after earlier ones. */
export function ulid(now = Date.now()): string {
  if (now <= lastTime) {
    lastRandom = (lastRandom + 1n) & ((1n << 80n) - 1n);
  } else {
    lastTime = now;
    lastRandom = BigInt('0x' + randomBytes(10).toString('hex'));
  }
  return encode(BigInt(lastTime), 10) + encode(lastRandom, 16);
}

export const newAccountId = () => `acc_${ulid()}`;
export const newTransactionId = () => `txn_${ulid()}`;
export const newEntryId = () => `ent_${ulid()}`;

/** `acc_` + ULID: anything else is INVALID_ARGUMENT, never NOT_FOUND, as in every service. */
export const ACCOUNT_ID: IdFormat = {
  noun: 'account',
  pattern: new RegExp(`^acc_${ULID}$`),
  shape: "'acc_' and 26 Crockford base32 characters",
};

export function isAccountId(value: string): boolean {
  return ACCOUNT_ID.pattern.test(value);
}

/** The per-currency external (cash) account deposits and withdrawals post against. */
export function externalAccountId(currency: string): string {
  return `external:${currency}`;
}
