import { type Handler } from './handler';
import { Writer } from '../protocol/writer';

/**
 * JoinGroup v1-v5; parks until the rebalance completes. v2+ answers throttle_time_ms; v4+ answers
 * a join without member id with MEMBER_ID_REQUIRED (79) and the id to rejoin with (KIP-394); v5
 * carries group_instance_id (static membership), read and echoed as null: members are dynamic here.
 */
export const joinGroup: Handler = async (ctx, r) => {
  const v = ctx.apiVersion;
  const groupId = r.string();
  const sessionTimeoutMs = r.int32();
  const rebalanceTimeoutMs = r.int32();
  const memberId = r.string();
  if (v >= 5) r.nullableString(); // group_instance_id
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
    requireKnownMemberId: v >= 4,
  });
  const w = new Writer();
  if (v >= 2) w.int32(0); // throttle_time_ms
  w.int16(res.errorCode).int32(res.generationId).string(res.protocol);
  w.string(res.leaderId).string(res.memberId);
  return w.array(res.members, (w, m) => {
    w.string(m.memberId);
    if (v >= 5) w.nullableString(null); // group_instance_id
    w.bytes(m.metadata);
  });
};
