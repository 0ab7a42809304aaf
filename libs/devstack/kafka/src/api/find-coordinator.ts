import { type Handler } from './handler';
import { ErrorCode } from '../protocol/error-codes';
import { Writer } from '../protocol/writer';

/** FindCoordinator v0: this broker coordinates every group. */
export const findCoordinator: Handler = (ctx, r) => {
  r.string(); // group_id
  const b = ctx.broker;
  return new Writer().int16(ErrorCode.NONE).int32(b.nodeId).string(b.host).int32(b.port);
};
