import { type Handler } from './handler';
import { Writer } from '../protocol/writer';

/** LeaveGroup v1: remove the member and rebalance the rest. */
export const leaveGroup: Handler = (ctx, r) => {
  const groupId = r.string();
  const memberId = r.string();
  return new Writer().int32(0).int16(ctx.broker.coordinator.leave(groupId, memberId));
};
