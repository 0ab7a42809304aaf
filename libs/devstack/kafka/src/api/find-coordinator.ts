import { type Handler } from './handler';
import { ErrorCode } from '../protocol/error-codes';
import { Writer } from '../protocol/writer';

/**
 * FindCoordinator v0-v2: this broker coordinates every group and every transactional id (v1+
 * key_type 1), so the answer never depends on the key.
 */
export const findCoordinator: Handler = (ctx, r) => {
  r.string(); // key (group id or transactional id)
  if (ctx.apiVersion >= 1) r.int8(); // key_type
  const b = ctx.broker;
  const w = new Writer();
  if (ctx.apiVersion >= 1) w.int32(0); // throttle_time_ms
  w.int16(ErrorCode.NONE);
  if (ctx.apiVersion >= 1) w.nullableString(null); // error_message
  return w.int32(b.nodeId).string(b.host).int32(b.port);
};
