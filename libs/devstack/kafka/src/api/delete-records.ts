import { type Handler } from './handler';
import { ErrorCode } from '../protocol/error-codes';
import { Writer } from '../protocol/writer';

/**
 * DeleteRecords v0-v1 (identical layouts): move the log start offset up to `offset` (-1 = the high
 * watermark). Offsets above the high watermark are OFFSET_OUT_OF_RANGE, as in Kafka.
 */
export const deleteRecords: Handler = (ctx, r) => {
  const topics = r.array((r) => ({
    name: r.string(),
    partitions: r.array((r) => ({ index: r.int32(), offset: r.int64() })),
  }));
  r.int32(); // timeout_ms
  const w = new Writer().int32(0); // throttle_time_ms
  return w.array(topics, (w, t) => {
    w.string(t.name).array(t.partitions, (w, p) => {
      const log = ctx.broker.topics.partition(t.name, p.index);
      if (!log) {
        w.int32(p.index).int64(-1).int16(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION);
        return;
      }
      const target = p.offset === -1 ? log.logEndOffset : p.offset;
      if (target < 0 || target > log.logEndOffset) {
        w.int32(p.index).int64(-1).int16(ErrorCode.OFFSET_OUT_OF_RANGE);
        return;
      }
      log.deleteRecordsBefore(target);
      w.int32(p.index).int64(log.logStartOffset).int16(ErrorCode.NONE);
    });
  });
};
