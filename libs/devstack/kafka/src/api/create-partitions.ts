import { type Handler } from './handler';
import { ErrorCode } from '../protocol/error-codes';
import { Writer } from '../protocol/writer';

/**
 * CreatePartitions v0-v1 (identical layouts): grow a topic to `count` partitions. As in Kafka a
 * count not above the current one is INVALID_PARTITIONS, an unknown topic
 * UNKNOWN_TOPIC_OR_PARTITION, and a manual assignment must name this broker (node 0) only.
 */
export const createPartitions: Handler = (ctx, r) => {
  const topics = r.array((r) => ({
    name: r.string(),
    count: r.int32(),
    assignments: r.nullableArray((r) => r.array((r) => r.int32())),
  }));
  r.int32(); // timeout_ms
  const validateOnly = r.boolean();
  const b = ctx.broker;
  const w = new Writer().int32(0); // throttle_time_ms
  return w.array(topics, (w, t) => {
    const [error, message] = ((): [number, string | null] => {
      const topic = b.topics.get(t.name);
      if (!topic)
        return [ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, `The topic '${t.name}' does not exist.`];
      const current = topic.partitions.length;
      if (t.count < current) {
        return [
          ErrorCode.INVALID_PARTITIONS,
          `Topic currently has ${current} partitions, which is higher than the requested ${t.count}.`,
        ];
      }
      if (t.count === current) {
        return [ErrorCode.INVALID_PARTITIONS, `Topic already has ${current} partitions.`];
      }
      if (t.assignments !== null) {
        if (t.assignments.length !== t.count - current) {
          return [
            ErrorCode.INVALID_REPLICA_ASSIGNMENT,
            `Increasing the number of partitions by ${t.count - current} but ${t.assignments.length} assignments provided.`,
          ];
        }
        if (t.assignments.some((a) => a.length === 0 || a.some((id) => id !== b.nodeId))) {
          return [
            ErrorCode.INVALID_REPLICA_ASSIGNMENT,
            'Unknown broker in the replica assignment.',
          ];
        }
      }
      if (!validateOnly) {
        b.topics.addPartitions(topic, t.count);
        b.logger.info({ topic: t.name, partitions: t.count }, 'added partitions');
      }
      return [ErrorCode.NONE, null];
    })();
    w.string(t.name).int16(error).nullableString(message);
  });
};
