import {
  type AnyBulkWriteOperation,
  type Binary,
  type ClientBulkWriteModel,
  type ClientSession,
  type Collection,
  type Db,
  type Document,
  type MongoClient,
  ObjectId,
} from 'mongodb';
import { traceHeaders } from '@trellis/platform/telemetry';
import { supportsClientBulkWrite, unwrapClientBulkWriteError } from './client-bulk-write';

/** One event waiting in the outbox for the relay to publish it to Kafka. */
export interface OutboxMessage {
  eventId: string;
  eventType: string;
  aggregateId: string;
  topic: string;
  /** Kafka message key; the aggregate id, so one aggregate's events stay in one partition. */
  key: string;
  /** The encoded EventEnvelope. */
  value: Uint8Array;
  /**
   * W3C trace context of the request that caused the event. Unset: the context active at
   * append. Group commits set it, since one transaction then writes the events of many requests.
   */
  headers?: Record<string, string>;
}

export interface OutboxDocument {
  _id: ObjectId;
  event_id: string;
  event_type: string;
  aggregate_id: string;
  topic: string;
  key: string;
  value: Binary | Uint8Array;
  /** W3C trace context of the transaction that wrote the event. */
  headers: Record<string, string>;
  created_at: Date;
  /** null until the relay has published it. */
  published_at: Date | null;
}

/** One event as stored: an OutboxDocument's own fields, or an entry of a group's `events`. */
export type OutboxEvent = Omit<OutboxDocument, '_id' | 'created_at' | 'published_at'>;

/**
 * The events of one transaction in one document (`appendGroup`), in order: one insert, one read
 * and one delete for all of them instead of one each.
 */
export interface OutboxGroupDocument {
  _id: ObjectId;
  events: OutboxEvent[];
  created_at: Date;
  published_at: Date | null;
}

/** What the relay reads: a document of one event (`append`) or of several (`appendGroup`). */
export type StoredOutboxDocument = OutboxDocument | OutboxGroupDocument;

/** A stored document's events, in order. */
export function eventsOf(doc: StoredOutboxDocument): OutboxEvent[] {
  return 'events' in doc ? doc.events : [doc];
}

/** Event bytes per group document at most, far under MongoDB's 16 MiB document limit. */
const MAX_GROUP_BYTES = 4 * 1024 * 1024;

export const OUTBOX_COLLECTION = 'outbox';

/**
 * The transactional outbox (docs/architecture.md "Events"): events are inserted in the same
 * transaction as the state change they describe, so there is no event without a committed change
 * and no committed change without its event. OutboxRelay publishes them.
 */
export class Outbox {
  readonly collection: Collection<OutboxDocument>;

  constructor(
    db: Db,
    /**
     * 0 (default): the relay deletes entries once published, keeping the collection small.
     * More: published entries are marked and kept this long (TTL index), e.g. for audits.
     */
    readonly retainPublishedSeconds = 0,
    name = OUTBOX_COLLECTION,
  ) {
    this.collection = db.collection<OutboxDocument>(name);
  }

  async ensureIndexes(): Promise<void> {
    await this.collection.createIndexes([
      { key: { published_at: 1, _id: 1 }, name: 'pending_in_order' },
      ...(this.retainPublishedSeconds > 0
        ? [
            {
              key: { published_at: 1 },
              name: 'published_ttl',
              expireAfterSeconds: this.retainPublishedSeconds,
            },
          ]
        : []),
    ]);
  }

  /** Called by the relay once `ids` are in Kafka: deleted, or marked when the outbox retains. */
  async markPublished(ids: ObjectId[]): Promise<void> {
    if (this.retainPublishedSeconds > 0) {
      await this.collection.updateMany(
        { _id: { $in: ids } },
        { $set: { published_at: new Date() } },
      );
    } else {
      await this.collection.deleteMany({ _id: { $in: ids } });
    }
  }

  /** Appends events inside the caller's transaction, with the active trace context. */
  async append(session: ClientSession, messages: OutboxMessage[]): Promise<void> {
    if (messages.length === 0) return;
    const now = new Date();
    await this.collection.insertMany(
      storedEvents(messages).map((event) => ({
        _id: new ObjectId(),
        ...event,
        created_at: now,
        published_at: null,
      })),
      { session },
    );
  }

  /**
   * Appends the events of a group commit (many requests' changes in one transaction) as one
   * document, or a few when their values pass 4 MiB; the relay publishes them in order as if
   * appended one by one. Returns the documents, for `OutboxRelay.offer` once committed.
   */
  async appendGroup(
    session: ClientSession,
    messages: OutboxMessage[],
  ): Promise<OutboxGroupDocument[]> {
    const docs = this.groupDocuments(messages);
    if (docs.length > 0) await this.groups.insertMany(docs, { session });
    return docs;
  }

  /**
   * `appendGroup` together with the transaction's own writes to `collection` (inserts and
   * updateOnes), ordered, writes first: in one client `bulkWrite`, one round trip, where the server
   * has the command (MongoDB 8.0+), else the collection's bulk write and then the insert. Returns
   * the group documents and how many of the writes matched (an insert counts none).
   */
  async appendGroupWith<T extends Document>(
    client: MongoClient,
    session: ClientSession,
    own: { collection: Collection<T>; writes: AnyBulkWriteOperation<T>[] },
    messages: OutboxMessage[],
  ): Promise<{ matched: number; documents: OutboxGroupDocument[] }> {
    const documents = this.groupDocuments(messages);
    const { collection, writes } = own;
    if (await supportsClientBulkWrite(client)) {
      // The driver types one call's models by a single schema map keyed by namespace literals;
      // these namespaces are known at run time only, and each model is typed by its own schema.
      const models = [
        ...writes.map((write) => clientModelOf(collection.namespace, write)),
        ...documents.map((document): ClientBulkWriteModel<Record<string, OutboxGroupDocument>> => ({
          name: 'insertOne',
          namespace: this.namespace,
          document,
        })),
      ] as ClientBulkWriteModel[];
      if (models.length === 0) return { matched: 0, documents };
      try {
        const result = await client.bulkWrite(models, { session, ordered: true });
        return { matched: result.matchedCount, documents };
      } catch (err) {
        throw unwrapClientBulkWriteError(err);
      }
    }
    let matched = 0;
    if (writes.length > 0)
      matched = (await collection.bulkWrite(writes, { session, ordered: true })).matchedCount;
    if (documents.length > 0) await this.groups.insertMany(documents, { session });
    return { matched, documents };
  }

  /** The documents `appendGroup` and `appendGroupWith` insert for `messages`. */
  private groupDocuments(messages: OutboxMessage[]): OutboxGroupDocument[] {
    if (messages.length === 0) return [];
    const now = new Date();
    const groups: OutboxEvent[][] = [[]];
    let bytes = 0;
    for (const event of storedEvents(messages)) {
      const size = event.value instanceof Uint8Array ? event.value.length : event.value.length();
      if (bytes + size > MAX_GROUP_BYTES && groups[groups.length - 1].length > 0) {
        groups.push([]);
        bytes = 0;
      }
      groups[groups.length - 1].push(event);
      bytes += size;
    }
    return groups.map((events) => ({
      _id: new ObjectId(),
      events,
      created_at: now,
      published_at: null,
    }));
  }

  /** `db.collection` of the outbox, as a client bulk write names it. */
  get namespace(): string {
    return this.collection.namespace;
  }

  /** The same collection, as the relay reads it: documents of one event or of a group. */
  get groups(): Collection<StoredOutboxDocument> {
    return this.collection as unknown as Collection<StoredOutboxDocument>;
  }
}

/** Messages as stored, each with its trace context (the active one when it carries none). */
function storedEvents(messages: OutboxMessage[]): OutboxEvent[] {
  let active: Record<string, string> | undefined;
  return messages.map((m) => ({
    event_id: m.eventId,
    event_type: m.eventType,
    aggregate_id: m.aggregateId,
    topic: m.topic,
    key: m.key,
    value: m.value,
    headers: m.headers ?? (active ??= traceHeaders()),
  }));
}

/** A collection write as a client bulkWrite model (`appendGroupWith` takes inserts and updateOnes). */
function clientModelOf<T extends Document>(
  namespace: string,
  write: AnyBulkWriteOperation<T>,
): ClientBulkWriteModel<Record<string, T>> {
  if ('insertOne' in write)
    return { name: 'insertOne', namespace, document: write.insertOne.document };
  if ('updateOne' in write) {
    const { filter, update } = write.updateOne;
    if (Array.isArray(update)) throw new Error('appendGroupWith: no update pipelines');
    return { name: 'updateOne', namespace, filter, update };
  }
  throw new Error('appendGroupWith: inserts and updateOnes only');
}
