import { type Handler } from './handler';
import { Writer } from '../protocol/writer';

/** Heartbeat v0: 25 unknown member, 22 wrong generation, 27 rebalancing, else 0. */
export const heartbeat: Handler = (ctx, r) => {
  const groupId = r.string();
  const generationId = r.int32();
  const memberId = r.string();
  return new Writer().int16(ctx.broker.coordinator.heartbeat(groupId, generationId, memberId));
};
