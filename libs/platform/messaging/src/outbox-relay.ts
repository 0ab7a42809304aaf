import { randomUUID } from 'node:crypto';
import type { Producer } from 'kafkajs';
import { Counter, Gauge, type Registry } from 'prom-client';
import { type Lease, type Outbox, type OutboxDocument } from '@trellis/platform/mongo';
import type { Logger } from '@trellis/platform/logging';
import { eventHeaders } from './event-headers';
import { startPublishSpan } from './messaging-spans';

export interface OutboxRelaySettings {
  outbox: Outbox;
  /** An idempotent kafkajs producer (connected by the caller). */
  producer: Producer;
  /** Only the holder of this lease publishes; other replicas stand by. */
  lease: Lease;
  logger: Logger;
  metrics?: Registry;
  batchSize?: number;
  /** How often an idle relay looks for new entries (default 50 ms); `notify()` wakes it at once. */
  idlePollMs?: number;
  /** Backoff after a failure: doubles from 100 ms up to this (default 5 s). */
  maxBackoffMs?: number;
}

/**
 * Publishes committed outbox entries to Kafka in insertion order (so per aggregate, since the
 * aggregate id is the message key), then deletes them (or marks them, when the outbox retains). At-least-once: a crash between
 * publish and mark republishes the batch, which idempotent consumers absorb. Only one relay among
 * replicas is active, through a lease.
 */
export class OutboxRelay {
  private running = false;
  private loop: Promise<void> | undefined;
  private wake: (() => void) | undefined;
  private readonly published?: Counter;

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

  /** Wakes an idle relay, e.g. right after a transaction that wrote events committed. */
  notify(): void {
    this.wake?.();
  }

  /** Stops after the batch in flight; releases the lease so a standby takes over at once. */
  async stop(): Promise<void> {
    if (!this.running) return;
    this.running = false;
    this.notify();
    await this.loop;
    await this.settings.lease.release().catch(() => undefined);
  }

  /** Publishes one batch if this relay holds the lease; returns how many entries it published. */
  async publishBatch(): Promise<number> {
    const { outbox, producer, lease } = this.settings;
    if (!(await lease.hold())) return 0;
    const batch = await outbox.collection
      .find({ published_at: null })
      .sort({ _id: 1 })
      .limit(this.settings.batchSize ?? 500)
      .toArray();
    if (batch.length === 0) return 0;

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
      for (const { span } of spans) span.setStatus({ code: 2, message: (err as Error).message });
      throw err;
    } finally {
      for (const { span } of spans) span.end();
    }
    await outbox.markPublished(batch.map((doc) => doc._id));
    for (const doc of batch) this.published?.inc({ topic: doc.topic });
    return batch.length;
  }

  private async run(): Promise<void> {
    const { logger } = this.settings;
    let backoffMs = 0;
    while (this.running) {
      try {
        const count = await this.publishBatch();
        backoffMs = 0;
        if (count > 0) continue;
        await this.idle(this.settings.idlePollMs ?? 50);
      } catch (err) {
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

function groupByTopic(batch: OutboxDocument[], headers: Array<Record<string, string>>) {
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
