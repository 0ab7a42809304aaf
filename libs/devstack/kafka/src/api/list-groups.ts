import { type Handler } from './handler';
import { ErrorCode } from '../protocol/error-codes';
import { Writer } from '../protocol/writer';

/** ListGroups v0: every group the coordinator knows, including offset-only ones. */
export const listGroups: Handler = (ctx) => {
  const w = new Writer().int16(ErrorCode.NONE);
  return w.array(ctx.broker.coordinator.list(), (w, g) => {
    w.string(g.groupId).string(g.protocolType);
  });
};
