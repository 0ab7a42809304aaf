import { type Handler } from './handler';
import { Writer } from '../protocol/writer';

/**
 * Heartbeat v0-v3: 25 unknown member, 22 wrong generation, 27 rebalancing, else 0. The v3
 * group_instance_id (static membership) is read and ignored: members are all dynamic here.
 */
export const heartbeat: Handler = (ctx, r) => {
  const groupId = r.string();
  const generationId = r.int32();
  const memberId = r.string();
  if (ctx.apiVersion >= 3) r.nullableString(); // group_instance_id
  const w = new Writer();
  if (ctx.apiVersion >= 1) w.int32(0); // throttle_time_ms
  return w.int16(ctx.broker.coordinator.heartbeat(groupId, generationId, memberId));
};
