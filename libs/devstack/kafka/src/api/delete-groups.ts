import { type Handler } from './handler';
import { Writer } from '../protocol/writer';

/** DeleteGroups v0-v1 (identical layouts): remove empty groups and their committed offsets. */
export const deleteGroups: Handler = (ctx, r) => {
  const ids = r.array((r) => r.string());
  const w = new Writer().int32(0); // throttle_time_ms
  return w.array(ids, (w, id) => {
    w.string(id).int16(ctx.broker.coordinator.deleteGroup(id));
  });
};
