import { type Handler } from './handler';
import { type PartitionLog } from '../log/partition-log';
import { ErrorCode } from '../protocol/error-codes';
import { Writer } from '../protocol/writer';

const LATEST = -1;
const EARLIEST = -2;

/**
 * ListOffsets v0-v3: timestamp -1 = log end offset (the last stable offset for read_committed,
 * v2+), -2 = log start offset, otherwise the first offset whose record timestamp is >= the given
 * one (offset -1 when there is none). v0 answers a list of offsets (here always the one offset);
 * v1+ answers timestamp and offset; v2+ adds isolation_level and throttle_time_ms.
 */
export const listOffsets: Handler = (ctx, r) => {
  const v = ctx.apiVersion;
  r.int32(); // replica_id
  const readCommitted = v >= 2 && r.int8() === 1; // isolation_level
  const topics = r.array((r) => ({
    name: r.string(),
    partitions: r.array((r) => {
      const index = r.int32();
      const timestamp = r.int64();
      if (v === 0) r.int32(); // max_num_offsets
      return { index, timestamp };
    }),
  }));
  const offsetOf = (log: PartitionLog, timestamp: number): number =>
    timestamp === LATEST
      ? readCommitted
        ? log.lastStableOffset
        : log.logEndOffset
      : timestamp === EARLIEST
        ? log.logStartOffset
        : log.offsetForTimestamp(timestamp);
  const w = new Writer();
  if (v >= 2) w.int32(0); // throttle_time_ms
  w.array(topics, (w, t) => {
    w.string(t.name).array(t.partitions, (w, p) => {
      const log = ctx.broker.topics.partition(t.name, p.index);
      const error = log ? ErrorCode.NONE : ErrorCode.UNKNOWN_TOPIC_OR_PARTITION;
      const offset = log ? offsetOf(log, p.timestamp) : -1;
      w.int32(p.index).int16(error);
      if (v === 0) {
        w.array(log && offset >= 0 ? [offset] : [], (w, o) => w.int64(o));
        return;
      }
      // The found record's timestamp is not reported (-1); both clients only use the offset.
      w.int64(-1).int64(offset);
    });
  });
  return w;
};
