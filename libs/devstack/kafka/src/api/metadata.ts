import { type Handler } from './handler';
import { findOrAutoCreateTopic } from '../broker-context';
import { ErrorCode } from '../protocol/error-codes';
import { Writer } from '../protocol/writer';

/**
 * Metadata v4-v6 (v5+ adds offline_replicas): topics (null = all), allow_auto_topic_creation. Every partition is led by this
 * broker, with replicas = isr = [self]. Auto-created topics are reported ready at once (a real
 * broker answers LEADER_NOT_AVAILABLE first; clients retry either way).
 */
export const metadata: Handler = (ctx, r) => {
  const requested = r.nullableArray((r) => r.string());
  const allowAutoCreate = r.boolean();
  const b = ctx.broker;
  const names = requested ?? b.topics.names();
  const w = new Writer();
  w.int32(0); // throttle_time_ms
  w.array([b.nodeId], (w, id) => {
    w.int32(id).string(b.host).int32(b.port).nullableString(null);
  });
  w.nullableString(b.clusterId);
  w.int32(b.nodeId); // controller_id
  w.array(names, (w, name) => {
    const topic = findOrAutoCreateTopic(b, name, allowAutoCreate);
    if (typeof topic === 'number') {
      w.int16(topic).string(name).boolean(false).int32(0);
      return;
    }
    w.int16(ErrorCode.NONE).string(name).boolean(false);
    w.array(topic.partitions, (w, p) => {
      w.int16(ErrorCode.NONE).int32(p.partition).int32(b.nodeId);
      w.array([b.nodeId], (w, id) => w.int32(id)); // replicas
      w.array([b.nodeId], (w, id) => w.int32(id)); // isr
      if (ctx.apiVersion >= 5) w.int32(0); // offline_replicas: none
    });
  });
  return w;
};
