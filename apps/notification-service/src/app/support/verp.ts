import type { KeyRing } from './key-ring';

/** Bytes of HMAC kept in the address: a local part has at most 64 characters. */
const MAC_BYTES = 8;

/**
 * VERP return paths: `bounce+<notificationId>.<mac>@<bounceDomain>`, so an asynchronous bounce
 * names its notification in the envelope it is sent to, and a forged address (someone mailing the
 * bounce domain to suppress others) does not verify. Hex because some relays lower-case local parts.
 * All keys of the ring are tried on decode (no room for a key id).
 */
export class VerpAddresses {
  constructor(
    private readonly keys: KeyRing,
    private readonly bounceDomain: string,
  ) {}

  encode(notificationId: string): string {
    const mac = this.keys.sign(`verp:${notificationId}`).subarray(0, MAC_BYTES).toString('hex');
    return `bounce+${notificationId}.${mac}@${this.bounceDomain}`;
  }

  /** The notification id of a return path this service issued, else undefined. */
  decode(address: string): string | undefined {
    const m = /^bounce\+([0-9a-z-]{1,40})\.([0-9a-f]{16})@(.+)$/i.exec(address.trim());
    if (!m || m[3].toLowerCase() !== this.bounceDomain.toLowerCase()) return undefined;
    const id = m[1].toLowerCase();
    const mac = Buffer.from(m[2].toLowerCase(), 'hex');
    return this.keys.verify(`verp:${id}`, mac, undefined, MAC_BYTES) ? id : undefined;
  }
}
