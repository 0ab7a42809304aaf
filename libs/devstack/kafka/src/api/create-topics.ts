import { type Handler } from './handler';
import { parseTopicConfig, topicConfigDefaults } from '../log/log-config';
import { isValidTopicName } from '../log/topic-registry';
import { ErrorCode } from '../protocol/error-codes';
import { Writer } from '../protocol/writer';

/**
 * CreateTopics v0-v3 (v1+ validate_only and error_message, v2+ throttle_time_ms).
 * num_partitions / replication_factor -1 mean broker defaults; a replica assignment fixes the
 * partition count. retention.ms, retention.bytes and segment.bytes change behaviour; the other
 * known topic configs are stored and reported by DescribeConfigs; an unknown one is INVALID_CONFIG,
 * as in Kafka.
 */
export const createTopics: Handler = (ctx, r) => {
  const v = ctx.apiVersion;
  const topics = r.array((r) => ({
    name: r.string(),
    numPartitions: r.int32(),
    replicationFactor: r.int16(),
    assignments: r.array((r) => ({ index: r.int32(), replicas: r.array((r) => r.int32()) })),
    configs: r.array((r) => ({ name: r.string(), value: r.nullableString() })),
  }));
  r.int32(); // timeout_ms
  const validateOnly = v >= 1 ? r.boolean() : false;
  const b = ctx.broker;
  const counts = new Map<string, number>();
  for (const t of topics) counts.set(t.name, (counts.get(t.name) ?? 0) + 1);
  const known = topicConfigDefaults(b.topics.defaultConfig);
  const w = new Writer();
  if (v >= 2) w.int32(0); // throttle_time_ms
  return w.array(topics, (w, t) => {
    const [error, message] = ((): [number, string | null] => {
      if ((counts.get(t.name) ?? 0) > 1) return [ErrorCode.INVALID_REQUEST, 'duplicate topic'];
      if (!isValidTopicName(t.name)) return [ErrorCode.INVALID_TOPIC_EXCEPTION, null];
      if (b.topics.get(t.name)) {
        return [ErrorCode.TOPIC_ALREADY_EXISTS, `Topic '${t.name}' already exists.`];
      }
      const partitions =
        t.assignments.length > 0
          ? t.assignments.length
          : t.numPartitions === -1
            ? b.defaultPartitions
            : t.numPartitions;
      if (partitions <= 0)
        return [ErrorCode.INVALID_PARTITIONS, 'Number of partitions must be larger than 0.'];
      if (t.replicationFactor !== -1 && t.replicationFactor !== 1 && t.assignments.length === 0) {
        // One broker: at most one replica, as Kafka answers with fewer brokers than replicas.
        return [
          ErrorCode.INVALID_REPLICATION_FACTOR,
          `Replication factor: ${t.replicationFactor} larger than available brokers: 1.`,
        ];
      }
      const unknown = t.configs.find((c) => !(c.name in known));
      if (unknown) return [ErrorCode.INVALID_CONFIG, `Unknown topic config name: ${unknown.name}`];
      const config = parseTopicConfig(b.topics.defaultConfig, t.configs);
      if (typeof config === 'string') return [ErrorCode.INVALID_CONFIG, config];
      if (validateOnly) return [ErrorCode.NONE, null];
      const overrides = Object.fromEntries(
        t.configs.flatMap((c) => (c.value === null ? [] : [[c.name, c.value]])),
      );
      b.topics.create(t.name, partitions, config, overrides);
      b.logger.info({ topic: t.name, partitions }, 'created topic');
      return [ErrorCode.NONE, null];
    })();
    w.string(t.name).int16(error);
    if (v >= 1) w.nullableString(message);
  });
};
