import { type Handler } from './handler';
import { ResourceType, describeResource } from './describe-configs';
import { parseTopicConfig, topicConfigDefaults } from '../log/log-config';
import { ErrorCode } from '../protocol/error-codes';
import { Writer } from '../protocol/writer';

/**
 * AlterConfigs v0-v1 (identical layouts). For a topic the given set replaces all its explicit
 * configs (non-incremental, as Kafka's AlterConfigs); unknown names and invalid values are
 * INVALID_CONFIG. Broker configs are static here: a broker resource is accepted and left unchanged.
 */
export const alterConfigs: Handler = (ctx, r) => {
  const resources = r.array((r) => ({
    type: r.int8(),
    name: r.string(),
    configs: r.array((r) => ({ name: r.string(), value: r.nullableString() })),
  }));
  const validateOnly = r.boolean();
  const b = ctx.broker;
  const w = new Writer().int32(0); // throttle_time_ms
  return w.array(resources, (w, res) => {
    const [error, message] = ((): [number, string | null] => {
      const d = describeResource(b, res.type, res.name);
      if (d.errorCode !== ErrorCode.NONE || res.type !== ResourceType.TOPIC) {
        return [d.errorCode, d.message];
      }
      const topic = b.topics.get(res.name);
      if (!topic) return [ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, null];
      const known = topicConfigDefaults(b.topics.defaultConfig);
      const unknown = res.configs.find((c) => !(c.name in known));
      if (unknown) return [ErrorCode.INVALID_CONFIG, `Unknown topic config name: ${unknown.name}`];
      const config = parseTopicConfig(b.topics.defaultConfig, res.configs);
      if (typeof config === 'string') return [ErrorCode.INVALID_CONFIG, config];
      if (!validateOnly) {
        const overrides = Object.fromEntries(
          res.configs.flatMap((c) => (c.value === null ? [] : [[c.name, c.value]])),
        );
        b.topics.setConfig(topic, config, overrides);
      }
      return [ErrorCode.NONE, null];
    })();
    w.int16(error).nullableString(message).int8(res.type).string(res.name);
  });
};
