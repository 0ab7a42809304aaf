import { type Handler } from './handler';
import { ErrorCode } from '../protocol/error-codes';
import { Writer } from '../protocol/writer';

/** OffsetFetch v1: committed offset, or -1 with metadata "" and no error when none. */
export const offsetFetch: Handler = (ctx, r) => {
  const groupId = r.string();
  const topics = r.array((r) => ({ name: r.string(), partitions: r.array((r) => r.int32()) }));
  const c = ctx.broker.coordinator;
  const w = new Writer();
  w.array(topics, (w, t) => {
    w.string(t.name).array(t.partitions, (w, index) => {
      const { offset, metadata } = c.fetchOffset(groupId, t.name, index);
      w.int32(index).int64(offset).nullableString(metadata).int16(ErrorCode.NONE);
    });
  });
  return w;
};
