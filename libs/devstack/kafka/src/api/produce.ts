import { type Handler } from './handler';
import { findOrAutoCreateTopic } from '../broker-context';
import { ErrorCode } from '../protocol/error-codes';
import { InvalidBatchError, splitBatches } from '../protocol/record-batch';
import { Writer } from '../protocol/writer';

/**
 * Produce v3-v7 (same request; v5+ answers log_start_offset): append each partition's record batches verbatim at the log end. acks 1 and -1 are
 * the same here (one replica); acks 0 sends no response at all.
 */
export const produce: Handler = (ctx, r) => {
  r.nullableString(); // transactional_id: the batches carry the producer id and epoch
  const acks = r.int16();
  r.int32(); // timeout_ms
  const topics = r.array((r) => ({
    name: r.string(),
    partitions: r.array((r) => ({ index: r.int32(), records: r.nullableBytes() })),
  }));
  const b = ctx.broker;
  const results = topics.map((t) => {
    const topic = findOrAutoCreateTopic(b, t.name, true);
    return {
      name: t.name,
      partitions: t.partitions.map((p) => {
        const fail = (errorCode: number) => ({
          index: p.index,
          errorCode,
          baseOffset: -1,
          logStartOffset: -1,
        });
        if (typeof topic === 'number') return fail(topic);
        const log = topic.partitions[p.index];
        if (!log) return fail(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION);
        let batches;
        try {
          batches = splitBatches(p.records ?? Buffer.alloc(0));
        } catch (e) {
          if (!(e instanceof InvalidBatchError)) throw e;
          b.logger.warn({ topic: t.name, partition: p.index, reason: e.message }, 'corrupt batch');
          return fail(ErrorCode.CORRUPT_MESSAGE);
        }
        if (batches.length === 0) return fail(ErrorCode.CORRUPT_MESSAGE);
        const result = log.append(batches);
        if (!result.ok) {
          return fail(
            result.error === 'INVALID_PRODUCER_EPOCH'
              ? ErrorCode.INVALID_PRODUCER_EPOCH
              : ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER,
          );
        }
        return {
          index: p.index,
          errorCode: ErrorCode.NONE,
          baseOffset: result.baseOffset,
          logStartOffset: log.logStartOffset,
        };
      }),
    };
  });
  if (acks === 0) return null;
  const w = new Writer();
  w.array(results, (w, t) => {
    w.string(t.name).array(t.partitions, (w, p) => {
      w.int32(p.index).int16(p.errorCode).int64(p.baseOffset).int64(-1); // log_append_time
      if (ctx.apiVersion >= 5) w.int64(p.logStartOffset);
    });
  });
  return w.int32(0); // throttle_time_ms
};
