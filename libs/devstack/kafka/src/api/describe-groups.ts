import { type Handler } from './handler';
import { Writer } from '../protocol/writer';

/** DescribeGroups v0-v2 (v1+ throttle_time_ms); an unknown group is reported as state "Dead" without an error, like Kafka. */
export const describeGroups: Handler = (ctx, r) => {
  const ids = r.array((r) => r.string());
  const w = new Writer();
  if (ctx.apiVersion >= 1) w.int32(0); // throttle_time_ms
  return w.array(ids, (w, id) => {
    const g = ctx.broker.coordinator.describe(id);
    w.int16(g.errorCode).string(g.groupId).string(g.state).string(g.protocolType);
    w.string(g.protocol).array(g.members, (w, m) => {
      w.string(m.memberId).string(m.clientId).string(m.clientHost);
      w.bytes(m.metadata).bytes(m.assignment);
    });
  });
};
