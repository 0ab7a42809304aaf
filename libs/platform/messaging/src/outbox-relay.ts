import { randomUUID } from 'node:crypto';
import type { Kafka, Producer } from 'kafkajs';
import type { ObjectId } from 'mongodb';
import { Counter, Gauge, type Registry } from 'prom-client';
import {
  eventsOf,
  type Lease,
  type Outbox,
  type OutboxEvent,
  type StoredOutboxDocument,
} from '@trellis/platform/mongo';
import type { Logger } from '@trellis/platform/logging';
import { eventHeaders } from './event-headers';
import { startPublishSpan } from './messaging-spans';
import { findPublishedEventIds } from './published-event-ids';

export interface OutboxRelaySettings {
  outbox: Outbox;
  /** An idempotent kafkajs producer (connected by the caller). */
  producer: Producer;
  /** The producer's client: reads the topics' tails when a batch may be in Kafka already. */
  kafka: Kafka;
  /** Only the holder of this lease publishes; other replicas stand by. */
  lease: Lease;
  logger: Logger;
  metrics?: Registry;
  batchSize?: number;
  /**
   * How soon an idle relay looks for new entries (default 50 ms), doubling while it finds none up
   * to `maxIdlePollMs` (default 4 s); `notify()` wakes it at once and starts over at `idlePollMs`.
   * The polls are for entries written elsewhere (another replica's, which notifies its own relay).
   */
  idlePollMs?: number;
  maxIdlePollMs?: number;
  /** Backoff after a failure: doubles from 100 ms up to this (default 5 s). */
  maxBackoffMs?: number;
  /**
   * How long offered documents wait for more to join their batch (default 10 ms), as a Kafka
   * producer's linger.ms: a trickle of commits then costs one send and one delete per few
   * commits instead of per commit, and the relay's work follows the calls that committed
   * instead of competing with them. A batch that reached `batchSize` goes at once.
   */
  lingerMs?: number;
}

/**
 * Publishes committed outbox entries to Kafka in insertion order (so per aggregate, since the
 * aggregate id is the message key), then deletes them (or marks them, when the outbox retains).
 * Only one relay among replicas is active, through a lease.
 *
 * No event id reaches a topic twice, whatever dies between publish and delete (docs/architecture.md,
 * "Events"). The idempotent producer dedupes its own retries, but not a re-send from MongoDB under
 * new sequence numbers, so: a batch Kafka acknowledged whose delete failed is deleted, not re-sent;
 * a batch whose send failed, or the first batch after taking over a dead holder's lease, is first
 * looked up at the tails of its topics and only what is not there is sent.
 */
export class OutboxRelay {
  private running = false;
  private loop: Promise<void> | undefined;
  private wake: (() => void) | undefined;
  /** Set by notify(): the next idle wait starts again at idlePollMs. */
  private notified = false;
  private readonly published?: Counter;
  private holding = false;
  /** Entries Kafka acknowledged whose delete from the outbox failed: deleted before any send. */
  private acknowledged: ObjectId[] = [];
  /** The next batch may be in Kafka already (a failed send, or a dead predecessor's last batch). */
  private inDoubt = false;
  /** Documents this process committed (`offer`), in commit order, not read back yet. */
  private fresh: StoredOutboxDocument[] = [];
  /** When the oldest document in `fresh` was offered (ms). */
  private freshSince = 0;
  /** The last read drained the outbox: until the next read, `fresh` is what is pending here. */
  private caughtUp = false;
  private lastReadAt = 0;
  /** Counts notify() calls: one during a read may be of a commit the read did not see. */
  private notifies = 0;
  /** Ids (hex) of documents recent reads published: one offered after a read found it is not sent again. */
  private readonly read = new Set<string>();

  constructor(private readonly settings: OutboxRelaySettings) {
    if (settings.metrics) {
      this.published = new Counter({
        name: 'outbox_published_total',
        help: 'Outbox events published to Kafka',
        labelNames: ['topic'],
        registers: [settings.metrics],
      });
      const outbox = settings.outbox;
      new Gauge({
        name: 'outbox_lag_seconds',
        help: 'Age of the oldest unpublished outbox event (0 when none)',
        registers: [settings.metrics],
        async collect() {
          const oldest = await outbox.collection
            .find({ published_at: null })
            .sort({ _id: 1 })
            .limit(1)
            .project<{ created_at: Date }>({ created_at: 1 })
            .next()
            .catch(() => null);
          this.set(oldest ? (Date.now() - oldest.created_at.getTime()) / 1000 : 0);
        },
      });
    }
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    this.loop = this.run();
  }

  /**
   * Hands the relay the outbox documents a transaction just committed, and wakes it. While it is
   * caught up (its last read, at most `idlePollMs` ago, drained the outbox) it sends them without
   * reading them back; the documents stay the durability record: deleted once Kafka has them,
   * read and checked as before after a failure, a take-over or a restart.
   */
  offer(docs: StoredOutboxDocument[]): void {
    if (this.running) {
      if (this.fresh.length === 0) this.freshSince = Date.now();
      this.fresh.push(...docs);
    }
    this.notified = true;
    this.wake?.();
  }

  /**
   * Wakes an idle relay, e.g. right after a transaction that wrote events committed (not handed
   * over with `offer`): its next batch is read from the outbox.
   */
  notify(): void {
    this.caughtUp = false;
    this.notifies++;
    this.notified = true;
    this.wake?.();
  }

  /** Stops after the batch in flight; releases the lease so a standby takes over at once. */
  async stop(): Promise<void> {
    if (!this.running) return;
    this.running = false;
    this.notify();
    await this.loop;
    // Left in doubt: keep the lease to expire, so that the successor checks what is in Kafka.
    if (this.inDoubt || this.acknowledged.length > 0) return;
    await this.settings.lease.release().catch(() => undefined);
  }

  /** Publishes one batch if this relay holds the lease; returns how many entries it published. */
  async publishBatch(): Promise<number> {
    const { outbox, producer, lease } = this.settings;
    if (!(await lease.hold())) {
      this.holding = false;
      this.forgetFresh();
      return 0;
    }
    if (!this.holding) {
      this.holding = true;
      if (lease.predecessor) this.inDoubt = true;
    }
    if (this.acknowledged.length > 0) {
      await outbox.markPublished(this.acknowledged);
      this.settings.logger.info(
        { acknowledged: this.acknowledged.length },
        'outbox relay: entries Kafka acknowledged before a failed delete deleted, not re-sent',
      );
      this.acknowledged = [];
    }
    let pending = await this.next();
    let inKafka = new Set<string>();
    if (this.inDoubt && pending.length > 0) {
      inKafka = await this.alreadyPublished(pending.flatMap(eventsOf));
      const done = pending.filter((doc) => eventsOf(doc).every((e) => inKafka.has(e.event_id)));
      if (done.length > 0) await outbox.markPublished(done.map((doc) => doc._id));
      this.inDoubt = false;
      pending = pending.filter((doc) => !done.includes(doc));
      if (pending.length === 0) return inKafka.size;
    }
    if (pending.length === 0) return 0;
    // A group document partly in Kafka already: only the rest of its events is sent.
    const batch = pending.flatMap(eventsOf).filter((event) => !inKafka.has(event.event_id));
    const ids = pending.map((doc) => doc._id);

    const spans = batch.map((doc) => startPublishSpan(doc.topic, doc.key, doc.headers ?? {}));
    try {
      await producer.sendBatch({
        acks: -1,
        topicMessages: groupByTopic(
          batch,
          spans.map((s) => s.headers),
        ),
      });
    } catch (err) {
      // The broker may have appended it before the failure (a lost reply, a crash).
      this.inDoubt = true;
      for (const { span } of spans) span.setStatus({ code: 2, message: (err as Error).message });
      throw err;
    } finally {
      for (const { span } of spans) span.end();
    }
    try {
      await outbox.markPublished(ids);
    } catch (err) {
      this.acknowledged = ids;
      throw err;
    }
    for (const event of batch) this.published?.inc({ topic: event.topic });
    return batch.length;
  }

  /** The next batch: offered documents while caught up, else the oldest unpublished ones. */
  private async next(): Promise<StoredOutboxDocument[]> {
    const stale = Date.now() - this.lastReadAt >= (this.settings.idlePollMs ?? 50);
    if (this.caughtUp && !this.inDoubt && !stale) {
      const fresh = this.fresh.filter((doc) => !this.read.has(doc._id.toHexString()));
      let events = 0;
      let n = 0;
      while (n < fresh.length && (n === 0 || events + eventsOf(fresh[n]).length <= this.batchSize))
        events += eventsOf(fresh[n++]).length;
      this.fresh = fresh.slice(n);
      return fresh.slice(0, n);
    }
    // Whatever was offered before this read is committed, so the read (or a later one) finds it.
    this.fresh = [];
    this.caughtUp = false;
    this.lastReadAt = Date.now();
    const notifies = this.notifies;
    const { docs, drained } = await this.pending();
    for (const doc of docs) this.read.add(doc._id.toHexString());
    for (const id of this.read) {
      if (this.read.size <= 10_000) break;
      this.read.delete(id);
    }
    this.caughtUp = drained && this.notifies === notifies;
    return docs;
  }

  /** How much longer the offered documents wait for company (0: send now). */
  private lingerLeftMs(): number {
    const lingerMs = this.settings.lingerMs ?? 10;
    if (lingerMs <= 0 || !this.caughtUp || this.inDoubt || this.fresh.length === 0) return 0;
    let events = 0;
    for (const doc of this.fresh) if ((events += eventsOf(doc).length) >= this.batchSize) return 0;
    return Math.max(0, this.freshSince + lingerMs - Date.now());
  }

  /** After a failure or losing the lease: the next batch is read from the outbox. */
  private forgetFresh(): void {
    this.fresh = [];
    this.caughtUp = false;
  }

  /**
   * The oldest unpublished documents, up to `batchSize` events (at least one document: a group
   * document is published whole), and whether that is all of them. Read in small batches: a
   * backlog of large groups is not read whole to send a few of them.
   */
  private async pending(): Promise<{ docs: StoredOutboxDocument[]; drained: boolean }> {
    const cursor = this.settings.outbox.groups
      .find({ published_at: null })
      .sort({ _id: 1 })
      .limit(this.batchSize)
      .batchSize(64);
    const docs: StoredOutboxDocument[] = [];
    let events = 0;
    try {
      for await (const doc of cursor) {
        const count = eventsOf(doc).length;
        if (docs.length > 0 && events + count > this.batchSize) return { docs, drained: false };
        docs.push(doc);
        events += count;
        if (events >= this.batchSize) return { docs, drained: false };
      }
    } finally {
      await cursor.close();
    }
    return { docs, drained: docs.length < this.batchSize };
  }

  private get batchSize(): number {
    return this.settings.batchSize ?? 500;
  }

  /** The event ids of `batch` that are at the tail of their topic already. */
  private async alreadyPublished(batch: OutboxEvent[]): Promise<Set<string>> {
    const found = new Set<string>();
    for (const topic of new Set(batch.map((event) => event.topic))) {
      const ids = await findPublishedEventIds(this.settings.kafka, {
        topic,
        eventIds: new Set(batch.filter((e) => e.topic === topic).map((e) => e.event_id)),
        // One batch is the most this relay (or its predecessor) can have left in doubt; a batch
        // of group documents may pass batchSize events.
        window: Math.max(this.batchSize, batch.length),
        timeoutMs: 30_000,
      });
      for (const id of ids) found.add(id);
    }
    if (found.size > 0)
      this.settings.logger.info(
        { already_published: found.size },
        'outbox relay: entries already in Kafka deleted, not re-sent',
      );
    return found;
  }

  private async run(): Promise<void> {
    const { logger } = this.settings;
    let backoffMs = 0;
    const minIdleMs = this.settings.idlePollMs ?? 50;
    // 4 s: under half of the relay lease's 10 s, so an idle holder renews it before it can lapse.
    const maxIdleMs = Math.max(minIdleMs, this.settings.maxIdlePollMs ?? 4_000);
    let idleMs = 0;
    while (this.running) {
      try {
        const linger = this.lingerLeftMs();
        if (linger > 0) await new Promise((resolve) => setTimeout(resolve, linger));
        this.notified = false;
        const count = await this.publishBatch();
        backoffMs = 0;
        if (count > 0 || this.notified) {
          idleMs = 0;
          continue;
        }
        // Nothing to publish: poll less and less often, so an idle system is not kept busy.
        idleMs = Math.min(Math.max(idleMs * 2, minIdleMs), maxIdleMs);
        await this.idle(idleMs);
        if (this.notified) idleMs = 0;
      } catch (err) {
        this.forgetFresh();
        backoffMs = Math.min(Math.max(backoffMs * 2, 100), this.settings.maxBackoffMs ?? 5000);
        logger.warn({ err, retry_in_ms: backoffMs }, 'outbox relay failed; backing off');
        await this.idle(backoffMs);
      }
    }
  }

  private idle(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(done, ms);
      function done() {
        clearTimeout(timer);
        resolve();
      }
      this.wake = done;
    });
  }
}

function groupByTopic(batch: OutboxEvent[], headers: Array<Record<string, string>>) {
  const byTopic = new Map<
    string,
    Array<{ key: string; value: Buffer; headers: Record<string, string> }>
  >();
  batch.forEach((doc, i) => {
    const messages = byTopic.get(doc.topic) ?? [];
    const value = doc.value instanceof Uint8Array ? doc.value : doc.value.buffer;
    messages.push({
      key: doc.key,
      value: Buffer.from(value),
      headers: {
        ...headers[i],
        ...eventHeaders({ eventType: doc.event_type, eventId: doc.event_id }),
      },
    });
    byTopic.set(doc.topic, messages);
  });
  return [...byTopic].map(([topic, messages]) => ({ topic, messages }));
}

/** A process-unique lease owner id: host, pid and a random suffix. */
export function relayOwnerId(service: string): string {
  return `${service}:${process.pid}:${randomUUID().slice(0, 8)}`;
}
