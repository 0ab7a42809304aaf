/** Per-topic log settings (Kafka topic configs of the same names). */
export interface LogConfig {
  /** `retention.ms`: delete a closed segment once its newest record is older; -1 = keep forever. */
  readonly retentionMs: number;
  /** `retention.bytes`: delete the oldest closed segments while the log is larger; -1 = no limit. */
  readonly retentionBytes: number;
  /** `segment.bytes`: roll to a new segment once the active one reaches this size. */
  readonly segmentBytes: number;
}

export const DEFAULT_LOG_CONFIG: LogConfig = {
  retentionMs: 7 * 24 * 60 * 60 * 1000,
  retentionBytes: -1,
  segmentBytes: 8 * 1024 * 1024,
};

/** Apply CreateTopics config entries; returns an error message for an invalid value. */
export function parseTopicConfig(
  base: LogConfig,
  entries: readonly { name: string; value: string | null }[],
): LogConfig | string {
  const out = { ...base };
  for (const { name, value } of entries) {
    const n = value === null ? NaN : Number(value);
    const key =
      name === 'retention.ms'
        ? 'retentionMs'
        : name === 'retention.bytes'
          ? 'retentionBytes'
          : name === 'segment.bytes'
            ? 'segmentBytes'
            : null;
    if (key === null) continue; // other configs (cleanup.policy, ...) are accepted and ignored
    if (!Number.isInteger(n) || (key === 'segmentBytes' ? n < 14 : n < -1)) {
      return `invalid value ${String(value)} for ${name}`;
    }
    out[key] = n;
  }
  return out;
}

/**
 * The topic configs DescribeConfigs reports, with Kafka 2.4's defaults (the broker's API versions
 * are those of Kafka 2.4). Only the three of LogConfig
 * change behaviour here; the others are stored and reported (a single replica has no use for
 * min.insync.replicas, compaction is not implemented, ...).
 */
export function topicConfigDefaults(config: LogConfig): Record<string, string> {
  return {
    'cleanup.policy': 'delete',
    'compression.type': 'producer',
    'delete.retention.ms': '86400000',
    'file.delete.delay.ms': '60000',
    'flush.messages': '9223372036854775807',
    'flush.ms': '9223372036854775807',
    'follower.replication.throttled.replicas': '',
    'index.interval.bytes': '4096',
    'leader.replication.throttled.replicas': '',
    'max.compaction.lag.ms': '9223372036854775807',
    'max.message.bytes': '1000012',
    'message.downconversion.enable': 'true',
    'message.format.version': '2.4-IV1',
    'message.timestamp.difference.max.ms': '9223372036854775807',
    'message.timestamp.type': 'CreateTime',
    'min.cleanable.dirty.ratio': '0.5',
    'min.compaction.lag.ms': '0',
    'min.insync.replicas': '1',
    preallocate: 'false',
    'retention.bytes': String(config.retentionBytes),
    'retention.ms': String(config.retentionMs),
    'segment.bytes': String(config.segmentBytes),
    'segment.index.bytes': '10485760',
    'segment.jitter.ms': '0',
    'segment.ms': '604800000',
    'unclean.leader.election.enable': 'false',
  };
}
