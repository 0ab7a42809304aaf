import type { ClientSession, Collection, Db, MongoClient } from 'mongodb';
import { isDuplicateKeyError, withTransaction } from './with-transaction';

interface InboxDocument {
  /** The event_id: its uniqueness is what makes the consumer idempotent. */
  _id: string;
  event_type: string;
  processed_at: Date;
}

export type InboxOutcome = 'processed' | 'duplicate';

/**
 * Idempotent consumption (docs/architecture.md "Events"): an event's id is recorded in the same
 * transaction as the consumer's own state change, so a redelivered event changes nothing.
 */
export class Inbox {
  readonly collection: Collection<InboxDocument>;

  constructor(
    private readonly client: MongoClient,
    db: Db,
    /** One inbox per consumer, e.g. `inbox_account_events`. */
    name: string,
    private readonly retentionSeconds = 7 * 24 * 3600,
  ) {
    this.collection = db.collection<InboxDocument>(name);
  }

  async ensureIndexes(): Promise<void> {
    await this.collection.createIndexes([
      {
        key: { processed_at: 1 },
        name: 'processed_ttl',
        expireAfterSeconds: this.retentionSeconds,
      },
    ]);
  }

  /** Runs `work` and records `eventId` in one transaction, unless the event was processed before. */
  async processOnce(
    eventId: string,
    eventType: string,
    work: (session: ClientSession) => Promise<void>,
  ): Promise<InboxOutcome> {
    try {
      return await withTransaction(this.client, async (session) => {
        if (await this.collection.findOne({ _id: eventId }, { session, projection: { _id: 1 } })) {
          return 'duplicate';
        }
        await work(session);
        await this.collection.insertOne(
          { _id: eventId, event_type: eventType, processed_at: new Date() },
          { session },
        );
        return 'processed';
      });
    } catch (err) {
      // A concurrent delivery of the same event committed first.
      if (isDuplicateKeyError(err)) return 'duplicate';
      throw err;
    }
  }
}
