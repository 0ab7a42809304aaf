import { gunzipSync } from 'node:zlib';
import { buf as signedCrc32c } from 'crc-32/crc32c';

/**
 * Record batch (magic v2) header access. Batches are stored verbatim: the broker only rewrites
 * baseOffset (bytes 0..7), which lies outside the CRC-32C, so compressed batches, keys and headers
 * pass through untouched and no CRC needs recomputing.
 *
 *   baseOffset i64 | batchLength i32 | partitionLeaderEpoch i32 | magic i8 | crc u32 |
 *   attributes i16 | lastOffsetDelta i32 | baseTimestamp i64 | maxTimestamp i64 |
 *   producerId i64 | producerEpoch i16 | baseSequence i32 | recordCount i32 | records...
 */
export const BATCH_HEADER_SIZE = 61;
/** Bytes before (and including) batchLength; batchLength counts everything after it. */
export const LOG_OVERHEAD = 12;

const MAGIC_OFFSET = 16;
const ATTRIBUTES_OFFSET = 21;
const LAST_OFFSET_DELTA_OFFSET = 23;
const BASE_TIMESTAMP_OFFSET = 27;
const MAX_TIMESTAMP_OFFSET = 35;
const PRODUCER_ID_OFFSET = 43;
const PRODUCER_EPOCH_OFFSET = 51;
const BASE_SEQUENCE_OFFSET = 53;
const RECORD_COUNT_OFFSET = 57;

export interface BatchInfo {
  /** The batch bytes (a view on the input). */
  readonly bytes: Buffer;
  readonly attributes: number;
  readonly lastOffsetDelta: number;
  readonly baseTimestamp: number;
  readonly maxTimestamp: number;
  readonly producerId: number;
  readonly producerEpoch: number;
  readonly baseSequence: number;
  readonly recordCount: number;
}

export class InvalidBatchError extends Error {
  override readonly name = 'InvalidBatchError';
}

/** Split a Produce `records` blob into whole v2 batches, validating the framing of each. */
export function splitBatches(blob: Buffer): BatchInfo[] {
  const out: BatchInfo[] = [];
  let pos = 0;
  while (pos < blob.length) {
    if (blob.length - pos < BATCH_HEADER_SIZE) {
      throw new InvalidBatchError(`truncated batch header at byte ${pos}`);
    }
    const batchLength = blob.readInt32BE(pos + 8);
    const size = LOG_OVERHEAD + batchLength;
    if (batchLength < BATCH_HEADER_SIZE - LOG_OVERHEAD || pos + size > blob.length) {
      throw new InvalidBatchError(`batch length ${batchLength} does not fit the request`);
    }
    const bytes = blob.subarray(pos, pos + size);
    const info = readBatchInfo(bytes);
    if (info.lastOffsetDelta < 0 || info.recordCount < 0) {
      throw new InvalidBatchError('negative lastOffsetDelta or recordCount');
    }
    out.push(info);
    pos += size;
  }
  return out;
}

export function readBatchInfo(bytes: Buffer): BatchInfo {
  const magic = bytes.readInt8(MAGIC_OFFSET);
  if (magic !== 2) throw new InvalidBatchError(`unsupported magic byte ${magic} (only v2)`);
  return {
    bytes,
    attributes: bytes.readInt16BE(ATTRIBUTES_OFFSET),
    lastOffsetDelta: bytes.readInt32BE(LAST_OFFSET_DELTA_OFFSET),
    baseTimestamp: Number(bytes.readBigInt64BE(BASE_TIMESTAMP_OFFSET)),
    maxTimestamp: Number(bytes.readBigInt64BE(MAX_TIMESTAMP_OFFSET)),
    producerId: Number(bytes.readBigInt64BE(PRODUCER_ID_OFFSET)),
    producerEpoch: bytes.readInt16BE(PRODUCER_EPOCH_OFFSET),
    baseSequence: bytes.readInt32BE(BASE_SEQUENCE_OFFSET),
    recordCount: bytes.readInt32BE(RECORD_COUNT_OFFSET),
  };
}

export function readBaseOffset(bytes: Buffer): number {
  return Number(bytes.readBigInt64BE(0));
}

/** Copy the batch and stamp the broker-assigned base offset into the copy. */
export function withBaseOffset(bytes: Buffer, baseOffset: number): Buffer {
  const copy = Buffer.from(bytes);
  copy.writeBigInt64BE(BigInt(baseOffset), 0);
  return copy;
}

const CODEC_NONE = 0;
const CODEC_GZIP = 1;

/**
 * Offset of the first record whose timestamp is >= `ts`, for ListOffsets by time. Records are
 * decoded for uncompressed and GZIP batches; for other codecs (snappy, lz4, zstd, which Node
 * cannot decompress without extra packages) the batch base offset is returned, i.e. the answer
 * is batch-granular.
 */
export function firstOffsetAtOrAfter(bytes: Buffer, ts: number): number {
  const info = readBatchInfo(bytes);
  const base = readBaseOffset(bytes);
  const codec = info.attributes & 0x7;
  let records: Buffer;
  if (codec === CODEC_NONE) records = bytes.subarray(BATCH_HEADER_SIZE);
  else if (codec === CODEC_GZIP) records = gunzipSync(bytes.subarray(BATCH_HEADER_SIZE));
  else return base;
  let pos = 0;
  const varint = (): number => {
    let raw = 0;
    let shift = 0;
    for (;;) {
      const b = records[pos++];
      if (b === undefined) throw new InvalidBatchError('truncated record varint');
      raw += (b & 0x7f) * 2 ** shift;
      if ((b & 0x80) === 0) break;
      shift += 7;
    }
    // zig-zag decode
    return raw % 2 === 0 ? raw / 2 : -(raw + 1) / 2;
  };
  for (let i = 0; i < info.recordCount; i++) {
    const length = varint();
    const start = pos;
    pos += 1; // attributes
    const timestampDelta = varint();
    const offsetDelta = varint();
    if (info.baseTimestamp + timestampDelta >= ts) return base + offsetDelta;
    pos = start + length;
  }
  return base + info.lastOffsetDelta;
}

const TRANSACTIONAL_FLAG = 0x10;
const CONTROL_FLAG = 0x20;

export function isTransactional(attributes: number): boolean {
  return (attributes & TRANSACTIONAL_FLAG) !== 0;
}

export function isControl(attributes: number): boolean {
  return (attributes & CONTROL_FLAG) !== 0;
}

/** Control record types (Kafka's ControlRecordType). */
export const ControlType = { ABORT: 0, COMMIT: 1 } as const;

/**
 * A transaction marker: a transactional control batch holding one record whose key is
 * `int16 version 0 | int16 type` and value `int16 version 0 | int32 coordinator epoch`, with a
 * real CRC-32C so clients that check CRCs accept it.
 */
export function controlBatch(
  producerId: number,
  producerEpoch: number,
  type: number,
  now: number,
): Buffer {
  const key = Buffer.alloc(4);
  key.writeInt16BE(type, 2);
  const value = Buffer.alloc(6);
  // attributes, timestampDelta 0, offsetDelta 0, key length 4 (zigzag 8), value length 6 (12), no headers
  const record = Buffer.concat([
    Buffer.from([0, 0, 0, 8]),
    key,
    Buffer.from([12]),
    value,
    Buffer.from([0]),
  ]);
  const body = Buffer.concat([Buffer.from([record.length * 2]), record]);
  const out = Buffer.alloc(BATCH_HEADER_SIZE + body.length);
  out.writeBigInt64BE(0n, 0);
  out.writeInt32BE(out.length - LOG_OVERHEAD, 8);
  out.writeInt32BE(0, 12); // partition leader epoch
  out.writeInt8(2, MAGIC_OFFSET);
  out.writeInt16BE(TRANSACTIONAL_FLAG | CONTROL_FLAG, ATTRIBUTES_OFFSET);
  out.writeInt32BE(0, LAST_OFFSET_DELTA_OFFSET);
  out.writeBigInt64BE(BigInt(now), BASE_TIMESTAMP_OFFSET);
  out.writeBigInt64BE(BigInt(now), MAX_TIMESTAMP_OFFSET);
  out.writeBigInt64BE(BigInt(producerId), PRODUCER_ID_OFFSET);
  out.writeInt16BE(producerEpoch, PRODUCER_EPOCH_OFFSET);
  out.writeInt32BE(-1, BASE_SEQUENCE_OFFSET);
  out.writeInt32BE(1, RECORD_COUNT_OFFSET);
  body.copy(out, BATCH_HEADER_SIZE);
  out.writeUInt32BE(crc32c(out.subarray(ATTRIBUTES_OFFSET)), ATTRIBUTES_OFFSET - 4);
  return out;
}

/** The type of a control batch's (first) record: ABORT or COMMIT. */
export function controlType(bytes: Buffer): number {
  let pos = BATCH_HEADER_SIZE;
  const skipVarint = (): void => {
    while ((bytes[pos++] ?? 0) & 0x80);
  };
  skipVarint(); // record length
  pos += 1; // attributes
  skipVarint(); // timestampDelta
  skipVarint(); // offsetDelta
  skipVarint(); // key length (always 4)
  return bytes.readInt16BE(pos + 2);
}

/** CRC-32C (Castagnoli), unsigned: the checksum of record batches. */
export function crc32c(buf: Buffer): number {
  return signedCrc32c(buf) >>> 0;
}
