import { type Handler } from './handler';
import { ErrorCode } from '../protocol/error-codes';
import { Writer } from '../protocol/writer';

/** ListGroups v0-v2 (v1+ throttle_time_ms): every group the coordinator knows, offset-only too. */
export const listGroups: Handler = (ctx) => {
  const w = new Writer();
  if (ctx.apiVersion >= 1) w.int32(0); // throttle_time_ms
  w.int16(ErrorCode.NONE);
  return w.array(ctx.broker.coordinator.list(), (w, g) => {
    w.string(g.groupId).string(g.protocolType);
  });
};
