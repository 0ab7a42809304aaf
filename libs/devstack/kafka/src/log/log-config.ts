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
