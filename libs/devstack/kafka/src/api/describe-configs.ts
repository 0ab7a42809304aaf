import { type Handler } from './handler';
import { type BrokerContext } from '../broker-context';
import { topicConfigDefaults } from '../log/log-config';
import { ErrorCode } from '../protocol/error-codes';
import { Writer } from '../protocol/writer';

export const ResourceType = { TOPIC: 2, BROKER: 4 } as const;

/** Kafka's ConfigSource values (DescribeConfigs v1+). */
const Source = { DYNAMIC_TOPIC_CONFIG: 1, STATIC_BROKER_CONFIG: 4, DEFAULT_CONFIG: 5 } as const;

interface ConfigEntry {
  readonly name: string;
  readonly value: string;
  readonly readOnly: boolean;
  readonly source: number;
  /** Where the value could also come from, most specific first (DescribeConfigs v1+). */
  readonly synonyms: readonly { name: string; value: string; source: number }[];
}

/** Topic configs whose broker-wide default has the same name, so Kafka lists it as a synonym. */
const SAME_NAME_BROKER_DEFAULT = new Set([
  'compression.type',
  'min.insync.replicas',
  'unclean.leader.election.enable',
]);

type Described = { errorCode: number; message: string | null; entries: ConfigEntry[] };

/** The configs of one resource: a topic's defaults and overrides, or this broker's settings. */
export function describeResource(b: BrokerContext, type: number, name: string): Described {
  if (type === ResourceType.TOPIC) {
    const topic = b.topics.get(name);
    if (!topic) {
      return {
        errorCode: ErrorCode.UNKNOWN_TOPIC_OR_PARTITION,
        message: `Topic '${name}' does not exist.`,
        entries: [],
      };
    }
    const defaults = topicConfigDefaults(b.topics.defaultConfig);
    const entries = Object.entries(defaults).map(([k, value]): ConfigEntry => {
      const override = topic.overrides[k];
      const synonyms = [
        ...(override === undefined
          ? []
          : [{ name: k, value: override, source: Source.DYNAMIC_TOPIC_CONFIG }]),
        ...(SAME_NAME_BROKER_DEFAULT.has(k)
          ? [{ name: k, value, source: Source.DEFAULT_CONFIG }]
          : []),
      ];
      return override === undefined
        ? { name: k, value, readOnly: false, source: Source.DEFAULT_CONFIG, synonyms }
        : {
            name: k,
            value: override,
            readOnly: false,
            source: Source.DYNAMIC_TOPIC_CONFIG,
            synonyms,
          };
    });
    return { errorCode: ErrorCode.NONE, message: null, entries };
  }
  if (type === ResourceType.BROKER && (name === '' || name === String(b.nodeId))) {
    const d = b.topics.defaultConfig;
    const settings: Record<string, string> = {
      'broker.id': String(b.nodeId),
      'auto.create.topics.enable': String(b.autoCreateTopics),
      'num.partitions': String(b.defaultPartitions),
      'default.replication.factor': '1',
      'offsets.topic.replication.factor': '1',
      'log.retention.ms': String(d.retentionMs),
      'log.retention.bytes': String(d.retentionBytes),
      'log.segment.bytes': String(d.segmentBytes),
      'message.max.bytes': '1048588',
    };
    const entries = Object.entries(settings).map(([k, value]) => ({
      name: k,
      value,
      readOnly: true,
      source: Source.STATIC_BROKER_CONFIG,
      synonyms: [{ name: k, value, source: Source.STATIC_BROKER_CONFIG }],
    }));
    return { errorCode: ErrorCode.NONE, message: null, entries };
  }
  return {
    errorCode: ErrorCode.INVALID_REQUEST,
    message: `Unsupported resource type ${type} or unknown resource '${name}'`,
    entries: [],
  };
}

/**
 * DescribeConfigs v0-v2 (v1+ config_source and, when asked for, synonyms: an override and the
 * broker default of the same name; v2 is the same as v1). Null configuration_keys means all.
 */
export const describeConfigs: Handler = (ctx, r) => {
  const v = ctx.apiVersion;
  const resources = r.array((r) => ({
    type: r.int8(),
    name: r.string(),
    keys: r.nullableArray((r) => r.string()),
  }));
  const includeSynonyms = v >= 1 && r.boolean();
  const w = new Writer().int32(0); // throttle_time_ms
  return w.array(resources, (w, res) => {
    const d = describeResource(ctx.broker, res.type, res.name);
    const keys = res.keys;
    const entries = keys === null ? d.entries : d.entries.filter((e) => keys.includes(e.name));
    w.int16(d.errorCode).nullableString(d.message).int8(res.type).string(res.name);
    w.array(entries, (w, e) => {
      w.string(e.name).nullableString(e.value).boolean(e.readOnly);
      if (v >= 1) w.int8(e.source);
      else w.boolean(e.source === Source.DEFAULT_CONFIG); // is_default
      w.boolean(false); // is_sensitive
      if (v >= 1) {
        w.array(includeSynonyms ? e.synonyms : [], (w, s) => {
          w.string(s.name).nullableString(s.value).int8(s.source);
        });
      }
    });
  });
};
