import { type Handler } from './handler';
import { parseTopicConfig } from '../log/log-config';
import { isValidTopicName } from '../log/topic-registry';
import { ErrorCode } from '../protocol/error-codes';
import { Writer } from '../protocol/writer';

/**
 * CreateTopics v0. num_partitions / replication_factor -1 mean broker defaults; a replica
 * assignment fixes the partition count. Supported configs: retention.ms, retention.bytes,
 * segment.bytes (others are accepted and ignored).
 */
export const createTopics: Handler = (ctx, r) => {
  const topics = r.array((r) => ({
    name: r.string(),
    numPartitions: r.int32(),
    replicationFactor: r.int16(),
    assignments: r.array((r) => ({ index: r.int32(), replicas: r.array((r) => r.int32()) })),
    configs: r.array((r) => ({ name: r.string(), value: r.nullableString() })),
  }));
  r.int32(); // timeout_ms
  const b = ctx.broker;
  const counts = new Map<string, number>();
  for (const t of topics) counts.set(t.name, (counts.get(t.name) ?? 0) + 1);
  const w = new Writer();
  return w.array(topics, (w, t) => {
    const error = ((): number => {
      if ((counts.get(t.name) ?? 0) > 1) return ErrorCode.INVALID_REQUEST;
      if (!isValidTopicName(t.name)) return ErrorCode.INVALID_TOPIC_EXCEPTION;
      if (b.topics.get(t.name)) return ErrorCode.TOPIC_ALREADY_EXISTS;
      const partitions =
        t.assignments.length > 0
          ? t.assignments.length
          : t.numPartitions === -1
            ? b.defaultPartitions
            : t.numPartitions;
      if (partitions <= 0) return ErrorCode.INVALID_PARTITIONS;
      if (t.replicationFactor !== -1 && t.replicationFactor !== 1 && t.assignments.length === 0) {
        return ErrorCode.INVALID_REPLICATION_FACTOR; // one broker: at most one replica
      }
      const config = parseTopicConfig(b.topics.defaultConfig, t.configs);
      if (typeof config === 'string') return ErrorCode.INVALID_CONFIG;
      b.topics.create(t.name, partitions, config);
      b.logger.info({ topic: t.name, partitions }, 'created topic');
      return ErrorCode.NONE;
    })();
    w.string(t.name).int16(error);
  });
};
