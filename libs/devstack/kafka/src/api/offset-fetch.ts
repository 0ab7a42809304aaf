import { type Handler } from './handler';
import { ErrorCode } from '../protocol/error-codes';
import { Writer } from '../protocol/writer';

/**
 * OffsetFetch v1-v4: committed offset, or -1 with metadata "" and no error when none. v2+ adds a
 * top-level error_code and accepts null topics, meaning every partition the group has committed
 * offsets for (what admin.fetchOffsets without topics relies on); v3+ answers throttle_time_ms.
 */
export const offsetFetch: Handler = (ctx, r) => {
  const v = ctx.apiVersion;
  const groupId = r.string();
  const requested = r.nullableArray((r) => ({
    name: r.string(),
    partitions: r.array((r) => r.int32()),
  }));
  const c = ctx.broker.coordinator;
  const rows =
    requested === null && v >= 2
      ? c.committedOffsets(groupId)
      : (requested ?? []).flatMap((t) =>
          t.partitions.map((partition) => ({
            topic: t.name,
            partition,
            ...c.fetchOffset(groupId, t.name, partition),
          })),
        );
  const topics = new Map<string, typeof rows>();
  for (const row of rows) topics.set(row.topic, [...(topics.get(row.topic) ?? []), row]);
  const w = new Writer();
  if (v >= 3) w.int32(0); // throttle_time_ms
  w.array([...topics], (w, [name, partitions]) => {
    w.string(name).array(partitions, (w, p) => {
      w.int32(p.partition).int64(p.offset).nullableString(p.metadata).int16(ErrorCode.NONE);
    });
  });
  if (v >= 2) w.int16(ErrorCode.NONE);
  return w;
};
