import { randomUUID } from 'node:crypto';
import type {
  AnyBulkWriteOperation,
  ClientSession,
  Collection,
  Db,
  MongoClient,
  Filter,
} from 'mongodb';
import {
  allSucceeded,
  applyChanges,
  type BatchOutcome,
  GroupCommit,
} from '@trellis/platform/batching';
import { NotFoundError } from '@trellis/platform/errors';
import type { OutboxRelay } from '@trellis/platform/messaging';
import { type Inbox, type Outbox, withTransaction } from '@trellis/platform/mongo';
import { traceHeaders } from '@trellis/platform/telemetry';
import type { Notification, NotificationState, Transition } from '../../domain/notification';
import type {
  CampaignCounts,
  CreateOptions,
  NotificationFilter,
  NotificationRepository,
  RedriveFilter,
  RedriveRecord,
  SendRequestRecord,
} from '../../app/ports/notification.repository.port';
import { outboxMessagesOf } from './notification-events';

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

interface UpdateRequest {
  id: string;
  change: (notification: Notification) => Transition;
  /** The caller's trace context: the batch's transaction runs in the first caller's. */
  trace: Record<string, string> | undefined;
}

interface SendRequestDoc {
  _id: string;
  requestHash: string;
  notificationIds: string[];
  createdAt: Date;
}

interface RedriveRequestDoc {
  _id: string;
  requestHash: string;
  notificationIds: string[];
  nextPageToken: string;
  createdAt: Date;
}

/**
 * Notifications (_id = id, camelCase fields) with a unique `dedupeKey` (campaign + recipient, event
 * + role, idempotency key + index), and SendEmail idempotency records kept for 48 h. The only place
 * that knows transactions, the outbox (events commit with their notification), the inbox of the
 * domain-events consumer, group commit (claims and delivery outcomes) and trace capture.
 */
export class MongoNotificationRepository implements NotificationRepository {
  readonly collection: Collection<NotificationDoc>;
  private readonly sendRequests: Collection<SendRequestDoc>;
  private readonly redriveRequests: Collection<RedriveRequestDoc>;
  /** Concurrent claims (one consumer batch) go to MongoDB as one bulk write plus one read. */
  private readonly claims = new GroupCommit<ClaimRequest, Notification | undefined>(
    async (items) => allSucceeded(await this.claimMany(items)),
    { maxBatch: 500, maxInFlight: 2 },
  );

  /**
   * Delivery outcomes recorded concurrently (one consumer batch) are written in one transaction —
   * one read, one bulk update, one outbox insert — instead of one transaction each.
   */
  private readonly updates = new GroupCommit<UpdateRequest, Notification>(
    (batch) => this.commitUpdates(batch),
    { maxBatch: 500 },
  );

  constructor(
    private readonly client: MongoClient,
    db: Db,
    private readonly outbox: Pick<Outbox, 'append'>,
    private readonly relay: Pick<OutboxRelay, 'notify'>,
    /** The domain-events consumer's inbox (create with `inboxEvent`). */
    private readonly inbox?: Inbox,
  ) {
    this.collection = db.collection<NotificationDoc>('notifications');
    this.sendRequests = db.collection<SendRequestDoc>('send_requests');
    this.redriveRequests = db.collection<RedriveRequestDoc>('redrive_requests');
  }

  async ensureIndexes(): Promise<void> {
    await this.collection.createIndexes([
      { key: { dedupeKey: 1 }, name: 'dedupe_key_unique', unique: true },
      { key: { createdAt: -1, _id: -1 }, name: 'newest_first' },
      { key: { recipient: 1, createdAt: -1 }, name: 'by_recipient' },
      { key: { state: 1, createdAt: -1 }, name: 'by_state' },
      { key: { campaignId: 1, state: 1 }, name: 'by_campaign_state' },
      // Partial: only FAILED notifications are in it, so deliveries pay nothing for redrive.
      {
        key: { updatedAt: 1, _id: 1 },
        name: 'failed_by_time',
        partialFilterExpression: { state: 'FAILED' },
      },
    ]);
    const ttl = { name: 'ttl', expireAfterSeconds: 48 * 3600 };
    await this.sendRequests.createIndex({ createdAt: 1 }, ttl);
    await this.redriveRequests.createIndex({ createdAt: 1 }, ttl);
  }

  async create(
    transitions: Transition[],
    options: CreateOptions = {},
  ): Promise<{ notifications: Notification[]; created: boolean }> {
    let written: Notification[] = [];
    const work = async (session: ClientSession) => {
      written = [];
      if (transitions.length === 0) return;
      let skipped = new Set<string>();
      if ('sendRequest' in options) {
        // First: a key used before fails the transaction at once (duplicate key).
        const r = options.sendRequest;
        await this.sendRequests.insertOne(
          {
            _id: r.key,
            requestHash: r.requestHash,
            notificationIds: r.notificationIds,
            createdAt: r.createdAt,
          },
          { session },
        );
      } else {
        // Ids derive from dedupe keys: an existing notification is found by primary key.
        const existing = await this.collection
          .find({ _id: { $in: transitions.map((t) => t.notification.id) } }, { session })
          .project<{ dedupeKey: string }>({ dedupeKey: 1 })
          .toArray();
        skipped = new Set(existing.map((d) => d.dedupeKey));
      }
      const fresh = transitions.filter((t) => !skipped.has(t.notification.dedupeKey));
      if (fresh.length > 0) {
        await this.collection.insertMany(
          fresh.map((t) => toDoc(t.notification)),
          { session, ordered: true },
        );
      }
      await this.outbox.append(session, outboxMessagesOf(fresh.flatMap((t) => t.events)));
      written = fresh.map((t) => t.notification);
    };
    if ('inboxEvent' in options) {
      if (!this.inbox) throw new Error('this repository has no inbox');
      const { id, type } = options.inboxEvent;
      const outcome = await this.inbox.processOnce(id, type, work);
      if (outcome === 'processed') this.relay.notify();
      return {
        notifications: outcome === 'processed' ? written : [],
        created: outcome === 'processed',
      };
    }
    await withTransaction(this.client, work);
    this.relay.notify();
    return { notifications: written, created: true };
  }

  async findById(id: string): Promise<Notification | undefined> {
    const doc = await this.collection.findOne({ _id: id });
    return doc ? fromDoc(doc) : undefined;
  }

  async findByIds(ids: string[]): Promise<Notification[]> {
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

  update(id: string, change: (notification: Notification) => Transition): Promise<Notification> {
    return this.updates.submit({ id, change, trace: traceHeaders() });
  }

  /**
   * One transaction loads the batch's notifications, applies each change in queue order (several
   * changes of one notification see each other's result), saves what changed and appends every
   * event. A change that throws fails its own request only. A concurrent write to a loaded
   * notification is a write conflict, which reruns the whole batch.
   */
  private async commitUpdates(batch: UpdateRequest[]): Promise<Array<BatchOutcome<Notification>>> {
    const outcomes = await withTransaction(this.client, async (session) => {
      const docs = await this.collection
        .find({ _id: { $in: [...new Set(batch.map((r) => r.id))] } }, { session })
        .toArray();
      const { outcomes, changed, published } = applyChanges(
        batch,
        new Map(docs.map((doc) => [doc._id, fromDoc(doc)])),
        {
          stateOf: (transition: Transition) => transition.notification,
          notFound: (id) => new NotFoundError('notification', id),
        },
      );
      if (changed.size > 0) {
        const writes: AnyBulkWriteOperation<NotificationDoc>[] = [...changed.values()].map((n) => ({
          updateOne: { filter: { _id: n.id }, update: toUpdate(n) },
        }));
        await this.collection.bulkWrite(writes, { ordered: true, session });
      }
      await this.outbox.append(
        session,
        published.flatMap(({ request, events }) => outboxMessagesOf(events, request.trace)),
      );
      return outcomes;
    });
    this.relay.notify();
    return outcomes;
  }

  async campaignCounts(campaignId: string): Promise<CampaignCounts> {
    const rows = await this.collection
      .aggregate<{ _id: NotificationState; n: number }>([
        { $match: { campaignId } },
        { $group: { _id: '$state', n: { $sum: 1 } } },
      ])
      .toArray();
    const by = new Map(rows.map((r) => [r._id, r.n]));
    // A complaint means it was delivered; a bounce that it was not after all.
    return {
      queued: (by.get('QUEUED') ?? 0) + (by.get('SENDING') ?? 0),
      sent: (by.get('SENT') ?? 0) + (by.get('COMPLAINED') ?? 0),
      failed: (by.get('FAILED') ?? 0) + (by.get('BOUNCED') ?? 0),
      suppressed: by.get('SUPPRESSED') ?? 0,
    };
  }

  async listRedrivable(
    filter: RedriveFilter,
    after: { failedAt: Date; id: string } | undefined,
    limit: number,
  ): Promise<Notification[]> {
    const updated: Record<string, Date> = { $lt: filter.failedBefore };
    if (filter.failedAfter) updated.$gte = filter.failedAfter;
    const query: Filter<NotificationDoc> = {
      state: 'FAILED',
      updatedAt: updated,
      failedContent: { $exists: true },
    };
    if (filter.campaignId) query.campaignId = filter.campaignId;
    if (filter.templateId) query.templateId = filter.templateId;
    if (filter.errorContains) {
      query.lastError = { $regex: escapeRegex(filter.errorContains), $options: 'i' };
    }
    if (after) {
      query.$or = [
        { updatedAt: { $gt: after.failedAt } },
        { updatedAt: after.failedAt, _id: { $gt: after.id } },
      ];
    }
    const docs = await this.collection
      .find(query)
      .sort({ updatedAt: 1, _id: 1 })
      .limit(limit)
      .toArray();
    return docs.map(fromDoc);
  }

  async redrive(
    ids: string[],
    change: (notification: Notification) => Transition,
    request: Omit<RedriveRecord, 'notificationIds'>,
  ): Promise<RedriveRecord> {
    const record = await withTransaction(this.client, async (session) => {
      const docs = await this.collection
        .find({ _id: { $in: ids }, state: 'FAILED' }, { session })
        .toArray();
      const transitions = docs.map((doc) => change(fromDoc(doc))).filter((t) => t.events.length);
      if (transitions.length > 0) {
        await this.collection.bulkWrite(
          transitions.map(({ notification: n }) => ({
            updateOne: { filter: { _id: n.id, state: 'FAILED' }, update: toUpdate(n) },
          })),
          { ordered: true, session },
        );
      }
      await this.outbox.append(session, outboxMessagesOf(transitions.flatMap((t) => t.events)));
      const stored: RedriveRecord = {
        ...request,
        notificationIds: transitions.map((t) => t.notification.id),
      };
      // Last: a request id stored before aborts everything above (duplicate key).
      await this.redriveRequests.insertOne(
        {
          _id: stored.requestId,
          requestHash: stored.requestHash,
          notificationIds: stored.notificationIds,
          nextPageToken: stored.nextPageToken,
          createdAt: stored.createdAt,
        },
        { session },
      );
      return stored;
    });
    this.relay.notify();
    return record;
  }

  async findRedriveRequest(requestId: string): Promise<RedriveRecord | undefined> {
    const doc = await this.redriveRequests.findOne({ _id: requestId });
    return doc
      ? {
          requestId: doc._id,
          requestHash: doc.requestHash,
          notificationIds: doc.notificationIds,
          nextPageToken: doc.nextPageToken,
          createdAt: doc.createdAt,
        }
      : undefined;
  }

  async findSendRequest(key: string): Promise<SendRequestRecord | undefined> {
    const doc = await this.sendRequests.findOne({ _id: key });
    return doc
      ? {
          key: doc._id,
          requestHash: doc.requestHash,
          notificationIds: doc.notificationIds,
          createdAt: doc.createdAt,
        }
      : undefined;
  }
}

/** The whole saved state; leaving SENDING ends the claim, unset optional fields are removed. */
function toUpdate(n: Notification): { $set: Record<string, unknown>; $unset: Record<string, ''> } {
  const $set: Record<string, unknown> = {};
  const $unset: Record<string, ''> = {};
  if (n.state !== 'SENDING') $unset.sendingUntil = '';
  for (const [key, value] of Object.entries(n)) {
    if (key === 'id') continue;
    if (value === undefined) $unset[key] = '';
    else $set[key] = value;
  }
  if (n.sentAt === undefined) $unset.sentAt = '';
  if (n.nextAttemptAt === undefined) $unset.nextAttemptAt = '';
  return { $set, $unset };
}

function escapeRegex(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
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
  // Notifications stored before #22 have no category: transactional.
  return { id: _id, ...rest, category: d.category ?? '' };
}
