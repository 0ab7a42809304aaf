import { randomUUID } from 'node:crypto';
import type { IHeaders, Kafka } from 'kafkajs';

export interface TailQuery {
  topic: string;
  /** The event ids (`event-id` header) to look for. */
  eventIds: ReadonlySet<string>;
  /** How many of the last messages of each partition to read. */
  window: number;
  timeoutMs: number;
}

/**
 * Which of `eventIds` are among the last `window` messages of each partition of `topic`. The outbox
 * relay asks before re-sending entries that may have reached Kafka already (a send that failed
 * after the broker appended it, or a predecessor that died between publish and delete): as the
 * only writer of its topics, what it published last is at the partitions' tails.
 *
 * kafkajs has no group-less fetch, so this joins a throwaway consumer group (no offsets committed)
 * and seeks each partition; it runs only on such a recovery, never per batch.
 */
export async function findPublishedEventIds(kafka: Kafka, query: TailQuery): Promise<Set<string>> {
  const found = new Set<string>();
  const admin = kafka.admin();
  await admin.connect();
  let offsets: Array<{ partition: number; high: string; low: string }>;
  try {
    if (!(await admin.listTopics()).includes(query.topic)) return found;
    offsets = await admin.fetchTopicOffsets(query.topic);
  } finally {
    await admin.disconnect();
  }
  const pending = new Map<number, { start: number; end: number }>();
  for (const { partition, high, low } of offsets) {
    const end = Number(high);
    const start = Math.max(Number(low), end - query.window);
    if (start < end) pending.set(partition, { start, end });
  }
  if (pending.size === 0) return found;

  const consumer = kafka.consumer({
    groupId: `outbox-relay-tail-${randomUUID()}`,
    sessionTimeout: 6_000,
    heartbeatInterval: 500,
    maxWaitTimeInMs: 100,
  });
  await consumer.connect();
  let timer: NodeJS.Timeout | undefined;
  try {
    await consumer.subscribe({ topic: query.topic, fromBeginning: false });
    let done!: () => void;
    const finished = new Promise<void>((resolve, reject) => {
      done = resolve;
      timer = setTimeout(
        () => reject(new Error(`reading the tail of ${query.topic} timed out`)),
        query.timeoutMs,
      );
    });
    await consumer.run({
      autoCommit: false,
      eachBatch: async ({ batch }) => {
        const range = pending.get(batch.partition);
        if (!range) return;
        for (const message of batch.messages) {
          const offset = Number(message.offset);
          if (offset < range.start) continue;
          const id = eventId(message.headers);
          if (id && query.eventIds.has(id)) found.add(id);
          if (offset >= range.end - 1) pending.delete(batch.partition);
        }
        if (pending.size === 0) done();
      },
    });
    for (const [partition, { start }] of pending)
      consumer.seek({ topic: query.topic, partition, offset: String(start) });
    await finished;
  } finally {
    clearTimeout(timer);
    await consumer.disconnect();
  }
  return found;
}

function eventId(headers: IHeaders | undefined): string | undefined {
  const value = headers?.['event-id'];
  const first = Array.isArray(value) ? value[0] : value;
  return first === undefined ? undefined : first.toString();
}
