import { type Handler } from './handler';
import { type BrokerContext } from '../broker-context';
import { AppendSignal } from '../log/append-signal';
import { type AbortedTransaction, type StoredBatch } from '../log/partition-log';
import { ErrorCode } from '../protocol/error-codes';
import { Writer } from '../protocol/writer';

interface FetchPartition {
  readonly index: number;
  readonly fetchOffset: number;
  readonly maxBytes: number;
}

interface PartitionResult {
  readonly index: number;
  readonly errorCode: number;
  readonly highWatermark: number;
  readonly logStartOffset: number;
  readonly lastStableOffset: number;
  readonly aborted: readonly AbortedTransaction[];
  readonly batches: readonly StoredBatch[];
}

/**
 * Fetch v4-v11 with long polling: answer once at least `minBytes` are available or `maxWaitMs` has
 * passed. Each partition returns whole stored batches starting with the one that contains
 * fetchOffset (kafkajs drops records below fetchOffset itself); the first batch of the response
 * is always included even above maxBytes (KIP-74). high_watermark = last_stable_offset = log end
 * offset, and last_stable_offset the first offset of the oldest open transaction; read_committed
 * fetches stop there and list the aborted transactions in the returned range. Fetch sessions (KIP-227, v7+) are not kept: every
 * request is a full fetch answered with session id 0, as a broker without session cache slots does.
 */
export const fetch: Handler = async (ctx, r) => {
  r.int32(); // replica_id
  const maxWaitMs = r.int32();
  const minBytes = r.int32();
  const maxBytes = r.int32();
  const readCommitted = r.int8() === 1; // isolation_level
  const v = ctx.apiVersion;
  if (v >= 7) {
    r.int32(); // session_id
    r.int32(); // session_epoch
  }
  const topics = r.array((r) => ({
    name: r.string(),
    partitions: r.array((r): FetchPartition => {
      const index = r.int32();
      if (v >= 9) r.int32(); // current_leader_epoch
      const fetchOffset = r.int64();
      if (v >= 5) r.int64(); // log_start_offset (follower only)
      return { index, fetchOffset, maxBytes: r.int32() };
    }),
  }));
  if (v >= 7) r.array((r) => [r.string(), r.array((r) => r.int32())]); // forgotten_topics_data
  if (v >= 11) r.string(); // rack_id
  const b = ctx.broker;
  const deadline = Date.now() + maxWaitMs;
  const keys = new Set(
    topics.flatMap((t) => t.partitions.map((p) => AppendSignal.key(t.name, p.index))),
  );

  let result = collect(b, topics, maxBytes, readCommitted);
  while (result.bytes < minBytes && !result.hasError && !b.stopping && !b.fetchesReleased) {
    const remaining = deadline - Date.now();
    if (remaining <= 0) break;
    await b.appendSignal.wait(keys, remaining);
    result = collect(b, topics, maxBytes, readCommitted);
  }

  const w = new Writer(1024 + result.bytes);
  w.int32(0); // throttle_time_ms
  if (v >= 7) w.int16(ErrorCode.NONE).int32(0); // error_code, session_id
  w.array(result.topics, (w, t) => {
    w.string(t.name).array(t.partitions, (w, p) => {
      w.int32(p.index).int16(p.errorCode).int64(p.highWatermark);
      w.int64(p.lastStableOffset);
      if (v >= 5) w.int64(p.logStartOffset);
      w.array(p.aborted, (w, t) => w.int64(t.producerId).int64(t.firstOffset));
      if (v >= 11) w.int32(-1); // preferred_read_replica: none
      w.int32(p.batches.reduce((n, x) => n + x.bytes.length, 0));
      for (const x of p.batches) w.raw(x.bytes);
    });
  });
  return w;
};

function collect(
  b: BrokerContext,
  topics: readonly { name: string; partitions: readonly FetchPartition[] }[],
  maxBytes: number,
  readCommitted: boolean,
): {
  topics: { name: string; partitions: PartitionResult[] }[];
  bytes: number;
  hasError: boolean;
} {
  let bytes = 0;
  let hasError = false;
  const out = topics.map((t) => ({
    name: t.name,
    partitions: t.partitions.map((p): PartitionResult => {
      const log = b.topics.partition(t.name, p.index);
      if (!log) {
        hasError = true;
        return {
          index: p.index,
          errorCode: ErrorCode.UNKNOWN_TOPIC_OR_PARTITION,
          highWatermark: -1,
          logStartOffset: -1,
          lastStableOffset: -1,
          aborted: [],
          batches: [],
        };
      }
      const hw = log.logEndOffset;
      if (p.fetchOffset < log.logStartOffset || p.fetchOffset > hw) {
        hasError = true;
        return {
          index: p.index,
          errorCode: ErrorCode.OFFSET_OUT_OF_RANGE,
          highWatermark: hw,
          logStartOffset: log.logStartOffset,
          lastStableOffset: log.lastStableOffset,
          aborted: [],
          batches: [],
        };
      }
      const budget = Math.min(p.maxBytes, maxBytes - bytes);
      // read_committed readers see only what lies below the last stable offset.
      const lso = log.lastStableOffset;
      const upTo = readCommitted ? lso : Number.MAX_SAFE_INTEGER;
      const batches = log.read(p.fetchOffset, Math.max(0, budget), bytes === 0, upTo);
      for (const x of batches) bytes += x.bytes.length;
      const last = batches.at(-1);
      return {
        index: p.index,
        errorCode: ErrorCode.NONE,
        highWatermark: hw,
        logStartOffset: log.logStartOffset,
        lastStableOffset: lso,
        aborted: readCommitted && last ? log.abortedBetween(p.fetchOffset, last.lastOffset) : [],
        batches,
      };
    }),
  }));
  return { topics: out, bytes, hasError };
}
