import { type Handler } from './handler';
import { Writer } from '../protocol/writer';

/** SyncGroup v0: the leader hands in assignments; everyone gets their own bytes back. */
export const syncGroup: Handler = async (ctx, r) => {
  const groupId = r.string();
  const generationId = r.int32();
  const memberId = r.string();
  const assignments = r.array((r) => ({
    memberId: r.string(),
    assignment: Buffer.from(r.bytes()),
  }));
  const res = await ctx.broker.coordinator.sync(groupId, generationId, memberId, assignments);
  return new Writer().int16(res.errorCode).bytes(res.assignment);
};
