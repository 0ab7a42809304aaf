import { type Handler } from './handler';
import { Writer } from '../protocol/writer';

/** SyncGroup v0-v3 (v1+ throttle_time_ms, v3 group_instance_id): the leader hands in assignments; everyone gets their own bytes back. */
export const syncGroup: Handler = async (ctx, r) => {
  const groupId = r.string();
  const generationId = r.int32();
  const memberId = r.string();
  if (ctx.apiVersion >= 3) r.nullableString(); // group_instance_id: members are all dynamic
  const assignments = r.array((r) => ({
    memberId: r.string(),
    assignment: Buffer.from(r.bytes()),
  }));
  const res = await ctx.broker.coordinator.sync(groupId, generationId, memberId, assignments);
  const w = new Writer();
  if (ctx.apiVersion >= 1) w.int32(0); // throttle_time_ms
  return w.int16(res.errorCode).bytes(res.assignment);
};
