import type { Admin, Kafka } from 'kafkajs';
import { Gauge, type Registry } from 'prom-client';
import type { Logger } from '@trellis/platform/logging';

export const CONSUMER_LAG_METRIC = 'messaging_kafka_consumer_lag';

interface Group {
  kafka: Kafka;
  topics: string[];
  logger: Logger;
}

interface LagState {
  groups: Map<string, Group>;
  admins: Map<Kafka, Promise<Admin>>;
}

const states = new WeakMap<Registry, LagState>();

/**
 * `messaging_kafka_consumer_lag{consumer_group, topic, partition}`: messages not yet committed by
 * the group — the partition's high watermark minus the group's committed offset (the low
 * watermark when it has none). Read from the broker when /metrics is scraped (one OffsetFetch per
 * group and one ListOffsets per topic), so it also shows a consumer that is stuck or gone, which a
 * value updated while consuming would not. Registers `groupId`; the returned function removes it.
 */
export function trackConsumerLag(
  metrics: Registry,
  kafka: Kafka,
  groupId: string,
  topics: string[],
  logger: Logger,
): () => Promise<void> {
  let state = states.get(metrics);
  if (!state) {
    const created: LagState = { groups: new Map(), admins: new Map() };
    state = created;
    states.set(metrics, created);
    new Gauge({
      name: CONSUMER_LAG_METRIC,
      help: 'Kafka messages a consumer group has not committed yet, per partition',
      labelNames: ['consumer_group', 'topic', 'partition'],
      registers: [metrics],
      async collect() {
        this.reset();
        await Promise.all(
          [...created.groups].map(async ([id, group]) => {
            try {
              const admin = await adminFor(created, group.kafka);
              for (const row of await lagOf(admin, id, group.topics)) {
                this.set(
                  { consumer_group: id, topic: row.topic, partition: row.partition },
                  row.lag,
                );
              }
            } catch (err) {
              // A scrape must not fail because the broker is unreachable: the series go missing.
              group.logger.warn({ err, consumer_group: id }, 'consumer lag not available');
            }
          }),
        );
      },
    });
  }
  const tracked = state;
  tracked.groups.set(groupId, { kafka, topics, logger });
  return async () => {
    tracked.groups.delete(groupId);
    if ([...tracked.groups.values()].some((g) => g.kafka === kafka)) return;
    const admin = tracked.admins.get(kafka);
    tracked.admins.delete(kafka);
    if (admin) await (await admin.catch(() => undefined))?.disconnect();
  };
}

function adminFor(state: LagState, kafka: Kafka): Promise<Admin> {
  let admin = state.admins.get(kafka);
  if (!admin) {
    const created = kafka.admin({ retry: { retries: 1 } });
    admin = created.connect().then(() => created);
    admin.catch(() => state.admins.delete(kafka));
    state.admins.set(kafka, admin);
  }
  return admin;
}

async function lagOf(
  admin: Admin,
  groupId: string,
  topics: string[],
): Promise<Array<{ topic: string; partition: string; lag: number }>> {
  const committed = await admin.fetchOffsets({ groupId, topics });
  const rows: Array<{ topic: string; partition: string; lag: number }> = [];
  for (const { topic, partitions } of committed) {
    const ends = new Map(
      (await admin.fetchTopicOffsets(topic)).map((p) => [p.partition, p] as const),
    );
    for (const { partition, offset } of partitions) {
      const end = ends.get(partition);
      if (!end) continue;
      const high = Number(end.high);
      const from = Number(offset) >= 0 ? Number(offset) : Number(end.low);
      rows.push({ topic, partition: String(partition), lag: Math.max(0, high - from) });
    }
  }
  return rows;
}
