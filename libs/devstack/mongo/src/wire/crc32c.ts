import { buf as signedCrc32c } from 'crc-32/crc32c';

/**
 * CRC-32C (Castagnoli), unsigned: the optional OP_MSG checksum (OP_MSG spec, "checksum") and the
 * journal's record checksum. The Kafka broker's record batches use the same library.
 */
export function crc32c(buf: Uint8Array, start = 0, end = buf.length): number {
  return signedCrc32c(start === 0 && end === buf.length ? buf : buf.subarray(start, end)) >>> 0;
}
