import { type Handler } from './handler';
import { ErrorCode } from '../protocol/error-codes';
import { Writer } from '../protocol/writer';

/**
 * OffsetCommit v2-v5 (v3+ answers throttle_time_ms, v5 drops retention_time_ms). Membership and generation are checked once for the whole request; offsets
 * (negative ones included) are stored verbatim. retention_time is ignored: offsets never expire.
 */
export const offsetCommit: Handler = (ctx, r) => {
  const groupId = r.string();
  const generationId = r.int32();
  const memberId = r.string();
  if (ctx.apiVersion <= 4) r.int64(); // retention_time_ms
  const topics = r.array((r) => ({
    name: r.string(),
    partitions: r.array((r) => ({
      index: r.int32(),
      offset: r.int64(),
      metadata: r.nullableString(),
    })),
  }));
  const c = ctx.broker.coordinator;
  const error = c.validateCommit({ groupId, generationId, memberId });
  const w = new Writer();
  if (ctx.apiVersion >= 3) w.int32(0); // throttle_time_ms
  w.array(topics, (w, t) => {
    w.string(t.name).array(t.partitions, (w, p) => {
      if (error === ErrorCode.NONE) c.commitOffset(groupId, t.name, p.index, p.offset, p.metadata);
      w.int32(p.index).int16(error);
    });
  });
  return w;
};
