import { type Handler } from './handler';
import { Writer } from '../protocol/writer';

/** JoinGroup v1 (adds rebalance_timeout); parks until the rebalance completes. */
export const joinGroup: Handler = async (ctx, r) => {
  const groupId = r.string();
  const sessionTimeoutMs = r.int32();
  const rebalanceTimeoutMs = r.int32();
  const memberId = r.string();
  const protocolType = r.string();
  const protocols = r.array((r) => ({ name: r.string(), metadata: Buffer.from(r.bytes()) }));
  const res = await ctx.broker.coordinator.join({
    groupId,
    sessionTimeoutMs,
    rebalanceTimeoutMs,
    memberId,
    protocolType,
    protocols,
    clientId: ctx.clientId,
    clientHost: ctx.clientHost,
  });
  const w = new Writer();
  w.int16(res.errorCode).int32(res.generationId).string(res.protocol);
  w.string(res.leaderId).string(res.memberId);
  return w.array(res.members, (w, m) => {
    w.string(m.memberId).bytes(m.metadata);
  });
};
