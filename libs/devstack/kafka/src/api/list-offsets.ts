import { type Handler } from './handler';
import { ErrorCode } from '../protocol/error-codes';
import { Writer } from '../protocol/writer';

const LATEST = -1;
const EARLIEST = -2;

/**
 * ListOffsets v2-v3 (identical layouts): timestamp -1 = log end offset, -2 = log start offset, otherwise the first offset
 * whose record timestamp is >= the given one (offset -1 when there is none).
 */
export const listOffsets: Handler = (ctx, r) => {
  r.int32(); // replica_id
  const readCommitted = r.int8() === 1; // isolation_level
  const topics = r.array((r) => ({
    name: r.string(),
    partitions: r.array((r) => ({ index: r.int32(), timestamp: r.int64() })),
  }));
  const w = new Writer();
  w.int32(0); // throttle_time_ms
  w.array(topics, (w, t) => {
    w.string(t.name).array(t.partitions, (w, p) => {
      const log = ctx.broker.topics.partition(t.name, p.index);
      if (!log) {
        w.int32(p.index).int16(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION).int64(-1).int64(-1);
        return;
      }
      const offset =
        p.timestamp === LATEST
          ? readCommitted
            ? log.lastStableOffset
            : log.logEndOffset
          : p.timestamp === EARLIEST
            ? log.logStartOffset
            : log.offsetForTimestamp(p.timestamp);
      // The found record's timestamp is not reported (-1); both clients only use the offset.
      w.int32(p.index).int16(ErrorCode.NONE).int64(-1).int64(offset);
    });
  });
  return w;
};
