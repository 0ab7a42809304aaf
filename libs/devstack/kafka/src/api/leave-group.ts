import { type Handler } from './handler';
import { ErrorCode } from '../protocol/error-codes';
import { Writer } from '../protocol/writer';

/**
 * LeaveGroup v1-v3: remove the member(s) and rebalance the rest. v3 (KIP-345) takes a batch of
 * members and answers an error per member; the top-level error is then NONE, as in Kafka.
 */
export const leaveGroup: Handler = (ctx, r) => {
  const groupId = r.string();
  const c = ctx.broker.coordinator;
  if (ctx.apiVersion < 3) {
    const memberId = r.string();
    return new Writer().int32(0).int16(c.leave(groupId, memberId));
  }
  const members = r.array((r) => ({ memberId: r.string(), instanceId: r.nullableString() }));
  const results = members.map((m) => ({ ...m, errorCode: c.leave(groupId, m.memberId) }));
  const w = new Writer().int32(0).int16(ErrorCode.NONE);
  return w.array(results, (w, m) => {
    w.string(m.memberId).nullableString(m.instanceId).int16(m.errorCode);
  });
};
