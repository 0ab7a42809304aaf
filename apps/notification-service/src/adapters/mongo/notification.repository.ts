import { randomUUID } from 'node:crypto';
import type { AnyBulkWriteOperation, Collection, Db, Filter } from 'mongodb';
import { allSucceeded, GroupCommit } from '@trellis/platform/batching';
import type { Notification, NotificationState } from '../../domain/notification';
import type {
  CampaignCounts,
  NotificationFilter,
  NotificationRepository,
  SendRequestRecord,
} from '../../app/notification.repository.port';
import type { Tx } from '../../app/unit-of-work.port';
import { sessionOf } from './session';

type NotificationDoc = Omit<Notification, 'id'> & {
  _id: string;
  sendingUntil?: Date;
  /** Marks which batched write changed the document last (claims and outcomes). */
  writeToken?: string;
};

interface ClaimRequest {
  id: string;
  attempt: number;
  now: Date;
  claimMs: number;
}

interface SendRequestDoc {
  _id: string;
  requestHash: string;
  notificationIds: string[];
  createdAt: Date;
}

/**
 * Notifications (_id = id, camelCase fields) with a unique `dedupeKey` (campaign + recipient, event
 * + role, idempotency key + index), and SendEmail idempotency records kept for 48 h.
 */
export class MongoNotificationRepository implements NotificationRepository {
  readonly collection: Collection<NotificationDoc>;
  private readonly sendRequests: Collection<SendRequestDoc>;
  /** Concurrent claims (one consumer batch) go to MongoDB as one bulk write plus one read. */
  private readonly claims = new GroupCommit<ClaimRequest, Notification | undefined>(
    async (items) => allSucceeded(await this.claimMany(items)),
    { maxBatch: 500, maxInFlight: 2 },
  );

  constructor(db: Db) {
    this.collection = db.collection<NotificationDoc>('notifications');
    this.sendRequests = db.collection<SendRequestDoc>('send_requests');
  }

  async ensureIndexes(): Promise<void> {
    await this.collection.createIndexes([
      { key: { dedupeKey: 1 }, name: 'dedupe_key_unique', unique: true },
      { key: { createdAt: -1, _id: -1 }, name: 'newest_first' },
      { key: { recipient: 1, createdAt: -1 }, name: 'by_recipient' },
      { key: { state: 1, createdAt: -1 }, name: 'by_state' },
      { key: { campaignId: 1, state: 1 }, name: 'by_campaign_state' },
    ]);
    await this.sendRequests.createIndex(
      { createdAt: 1 },
      { name: 'ttl', expireAfterSeconds: 48 * 3600 },
    );
  }

  async insertMany(
    tx: Tx,
    notifications: Notification[],
    options: { fresh?: boolean } = {},
  ): Promise<{ skipped: Set<string> }> {
    const session = sessionOf(tx);
    if (options.fresh) {
      await this.collection.insertMany(notifications.map(toDoc), { session, ordered: true });
      return { skipped: new Set() };
    }
    // Ids derive from dedupe keys: an existing notification is found by primary key.
    const existing = await this.collection
      .find({ _id: { $in: notifications.map((n) => n.id) } }, { session })
      .project<{ dedupeKey: string }>({ dedupeKey: 1 })
      .toArray();
    const skipped = new Set(existing.map((d) => d.dedupeKey));
    const fresh = notifications.filter((n) => !skipped.has(n.dedupeKey));
    if (fresh.length > 0) {
      await this.collection.insertMany(fresh.map(toDoc), { session, ordered: true });
    }
    return { skipped };
  }

  async get(id: string, tx?: Tx): Promise<Notification | undefined> {
    const doc = await this.collection.findOne({ _id: id }, { session: sessionOf(tx) });
    return doc ? fromDoc(doc) : undefined;
  }

  async getMany(ids: string[]): Promise<Notification[]> {
    if (ids.length === 0) return [];
    return (await this.collection.find({ _id: { $in: ids } }).toArray()).map(fromDoc);
  }

  async list(
    filter: NotificationFilter,
    after: { createdAt: Date; id: string } | undefined,
    limit: number,
  ): Promise<Notification[]> {
    const query: Filter<NotificationDoc> = {};
    if (filter.state) query.state = filter.state;
    if (filter.recipient) query.recipient = filter.recipient;
    if (filter.campaignId) query.campaignId = filter.campaignId;
    const created: Record<string, Date> = {};
    if (filter.createdAfter) created.$gte = filter.createdAfter;
    if (filter.createdBefore) created.$lt = filter.createdBefore;
    const and: Filter<NotificationDoc>[] = [];
    if (Object.keys(created).length > 0) and.push({ createdAt: created });
    if (after) {
      and.push({
        $or: [
          { createdAt: { $lt: after.createdAt } },
          { createdAt: after.createdAt, _id: { $lt: after.id } },
        ],
      });
    }
    if (and.length > 0) query.$and = and;
    const docs = await this.collection
      .find(query)
      .sort({ createdAt: -1, _id: -1 })
      .limit(limit)
      .toArray();
    return docs.map(fromDoc);
  }

  claimForSend(
    id: string,
    attempt: number,
    now: Date,
    claimMs: number,
  ): Promise<Notification | undefined> {
    return this.claims.submit({ id, attempt, now, claimMs });
  }

  private async claimMany(items: ClaimRequest[]): Promise<Array<Notification | undefined>> {
    const batch = randomUUID();
    const token = (i: number) => `${batch}:${i}`;
    const ops: AnyBulkWriteOperation<NotificationDoc>[] = items.map((it, i) => ({
      updateOne: {
        filter: {
          _id: it.id,
          $or: [
            { state: 'QUEUED', attempts: it.attempt - 1 },
            { state: 'SENDING', attempts: it.attempt, sendingUntil: { $lt: it.now } },
          ],
        },
        update: {
          $set: {
            state: 'SENDING',
            attempts: it.attempt,
            sendingUntil: new Date(it.now.getTime() + it.claimMs),
            updatedAt: it.now,
            writeToken: token(i),
          },
        },
      },
    }));
    const result = await this.collection.bulkWrite(ops, { ordered: true });
    if (result.modifiedCount === 0) return items.map(() => undefined);
    const docs = await this.collection
      .find({ _id: { $in: [...new Set(items.map((it) => it.id))] } })
      .toArray();
    const byToken = new Map(docs.map((d) => [d.writeToken, d]));
    return items.map((_, i) => {
      const doc = byToken.get(token(i));
      return doc ? fromDoc(doc) : undefined;
    });
  }

  async transition(
    tx: Tx,
    id: string,
    expected: { state: NotificationState; attempts: number },
    changes: Partial<Notification>,
  ): Promise<boolean> {
    const { set, unset } = toUpdate(changes);
    const result = await this.collection.updateOne(
      { _id: id, state: expected.state, attempts: expected.attempts },
      { $set: set, $unset: unset },
      { session: sessionOf(tx) },
    );
    return result.matchedCount === 1;
  }

  async transitionMany(
    tx: Tx,
    items: Array<{
      id: string;
      expected: { state: NotificationState; attempts: number };
      changes: Partial<Notification>;
    }>,
  ): Promise<boolean[]> {
    if (items.length === 0) return [];
    const session = sessionOf(tx);
    const batch = randomUUID();
    const token = (i: number) => `${batch}:${i}`;
    const ops: AnyBulkWriteOperation<NotificationDoc>[] = items.map((it, i) => {
      const { set, unset } = toUpdate(it.changes);
      return {
        updateOne: {
          filter: { _id: it.id, state: it.expected.state, attempts: it.expected.attempts },
          update: { $set: { ...set, writeToken: token(i) }, $unset: unset },
        },
      };
    });
    const result = await this.collection.bulkWrite(ops, { ordered: true, session });
    if (result.matchedCount === items.length) return items.map(() => true);
    // Some guards did not match (a concurrent delivery): find out which ones did.
    const docs = await this.collection
      .find({ _id: { $in: items.map((it) => it.id) } }, { session })
      .project<{ writeToken?: string }>({ writeToken: 1 })
      .toArray();
    const tokens = new Set(docs.map((d) => d.writeToken));
    return items.map((_, i) => tokens.has(token(i)));
  }

  async campaignCounts(campaignId: string): Promise<CampaignCounts> {
    const rows = await this.collection
      .aggregate<{ _id: NotificationState; n: number }>([
        { $match: { campaignId } },
        { $group: { _id: '$state', n: { $sum: 1 } } },
      ])
      .toArray();
    const by = new Map(rows.map((r) => [r._id, r.n]));
    return {
      queued: (by.get('QUEUED') ?? 0) + (by.get('SENDING') ?? 0),
      sent: by.get('SENT') ?? 0,
      failed: by.get('FAILED') ?? 0,
      suppressed: by.get('SUPPRESSED') ?? 0,
    };
  }

  async findSendRequest(key: string, tx?: Tx): Promise<SendRequestRecord | undefined> {
    const doc = await this.sendRequests.findOne({ _id: key }, { session: sessionOf(tx) });
    return doc
      ? {
          key: doc._id,
          requestHash: doc.requestHash,
          notificationIds: doc.notificationIds,
          createdAt: doc.createdAt,
        }
      : undefined;
  }

  async saveSendRequest(tx: Tx, record: SendRequestRecord): Promise<void> {
    await this.sendRequests.insertOne(
      {
        _id: record.key,
        requestHash: record.requestHash,
        notificationIds: record.notificationIds,
        createdAt: record.createdAt,
      },
      { session: sessionOf(tx) },
    );
  }
}

/** $set/$unset for a change set; a state change always ends a SENDING claim. */
function toUpdate(changes: Partial<Notification>): {
  set: Record<string, unknown>;
  unset: Record<string, ''>;
} {
  const set: Record<string, unknown> = {};
  const unset: Record<string, ''> = { sendingUntil: '' };
  for (const [key, value] of Object.entries(changes)) {
    if (key === 'id') continue;
    if (value === undefined) unset[key] = '';
    else set[key] = value;
  }
  return { set, unset };
}

function toDoc(n: Notification): NotificationDoc {
  const { id, ...rest } = n;
  const doc: NotificationDoc = { _id: id, ...rest };
  if (doc.sentAt === undefined) delete doc.sentAt;
  if (doc.nextAttemptAt === undefined) delete doc.nextAttemptAt;
  return doc;
}

function fromDoc(d: NotificationDoc): Notification {
  const { _id, sendingUntil: _sendingUntil, writeToken: _writeToken, ...rest } = d;
  return { id: _id, ...rest };
}
