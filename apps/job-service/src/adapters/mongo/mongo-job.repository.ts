import type { ClientSession, Collection, Db, Filter, MongoClient } from 'mongodb';
import { NotFoundError } from '@trellis/platform/errors';
import { isDuplicateKeyError, withTransaction, type Outbox } from '@trellis/platform/mongo';
import type { Job, JobState, Transition } from '../../domain/job';
import type {
  DuePending,
  JobRepository,
  ListCursor,
  ListJobsFilter,
  TypeStateCount,
} from '../../app/job.repository.port';
import { toOutboxMessages } from './job-events.outbox';

/** A job as stored in the `jobs` collection (snake_case, payload and result as JSON text). */
export interface JobDocument {
  _id: string;
  type: string;
  payload_json: string;
  state: JobState;
  priority: number;
  run_at: Date;
  attempts: number;
  max_attempts: number;
  backoff: { initial_delay_ms: number; max_delay_ms: number; multiplier: number; jitter: number };
  lease_ms: number;
  /** Absent when the caller gave none (the unique index is partial). */
  idempotency_key?: string;
  request_hash: string;
  cancel_requested: boolean;
  cancel_reason: string;
  worker_id: string;
  lease_token: string;
  lease_expires_at: Date | null;
  progress: {
    percent: number;
    message: string;
    counters: Record<string, unknown>;
    updated_at: Date;
  } | null;
  result_json: string | null;
  last_error: {
    message: string;
    code: string;
    retryable: boolean;
    attempt: number;
    occurred_at: Date;
  } | null;
  created_at: Date;
  updated_at: Date;
  started_at: Date | null;
  finished_at: Date | null;
}

export const JOBS_COLLECTION = 'jobs';

function toBigInt(value: unknown): bigint {
  if (typeof value === 'bigint') return value;
  if (typeof value === 'number') return BigInt(Math.trunc(value));
  if (value !== null && typeof value === 'object' && 'toBigInt' in value)
    return (value as { toBigInt(): bigint }).toBigInt();
  return 0n;
}

export function toDocument(job: Job): JobDocument {
  const doc: JobDocument = {
    _id: job.id,
    type: job.type,
    payload_json: JSON.stringify(job.payload),
    state: job.state,
    priority: job.priority,
    run_at: job.runAt,
    attempts: job.attempts,
    max_attempts: job.maxAttempts,
    backoff: {
      initial_delay_ms: job.backoff.initialDelayMs,
      max_delay_ms: job.backoff.maxDelayMs,
      multiplier: job.backoff.multiplier,
      jitter: job.backoff.jitter,
    },
    lease_ms: job.leaseDurationMs,
    request_hash: job.requestHash,
    cancel_requested: job.cancelRequested,
    cancel_reason: job.cancelReason,
    worker_id: job.workerId,
    lease_token: job.leaseToken,
    lease_expires_at: job.leaseExpiresAt,
    progress: job.progress
      ? {
          percent: job.progress.percent,
          message: job.progress.message,
          counters: { ...job.progress.counters },
          updated_at: job.progress.updatedAt,
        }
      : null,
    result_json: job.result ? JSON.stringify(job.result) : null,
    last_error: job.lastError
      ? {
          message: job.lastError.message,
          code: job.lastError.code,
          retryable: job.lastError.retryable,
          attempt: job.lastError.attempt,
          occurred_at: job.lastError.occurredAt,
        }
      : null,
    created_at: job.createdAt,
    updated_at: job.updatedAt,
    started_at: job.startedAt,
    finished_at: job.finishedAt,
  };
  if (job.idempotencyKey !== '') doc.idempotency_key = job.idempotencyKey;
  return doc;
}

export function fromDocument(doc: JobDocument): Job {
  const counters: Record<string, bigint> = {};
  for (const [key, value] of Object.entries(doc.progress?.counters ?? {}))
    counters[key] = toBigInt(value);
  return {
    id: doc._id,
    type: doc.type,
    payload: JSON.parse(doc.payload_json) as Job['payload'],
    state: doc.state,
    priority: doc.priority,
    runAt: doc.run_at,
    attempts: doc.attempts,
    maxAttempts: doc.max_attempts,
    backoff: {
      initialDelayMs: doc.backoff.initial_delay_ms,
      maxDelayMs: doc.backoff.max_delay_ms,
      multiplier: doc.backoff.multiplier,
      jitter: doc.backoff.jitter,
    },
    leaseDurationMs: doc.lease_ms,
    idempotencyKey: doc.idempotency_key ?? '',
    requestHash: doc.request_hash,
    cancelRequested: doc.cancel_requested,
    cancelReason: doc.cancel_reason,
    workerId: doc.worker_id,
    leaseToken: doc.lease_token,
    leaseExpiresAt: doc.lease_expires_at,
    progress: doc.progress
      ? {
          percent: doc.progress.percent,
          message: doc.progress.message,
          counters,
          updatedAt: doc.progress.updated_at,
        }
      : null,
    result: doc.result_json ? (JSON.parse(doc.result_json) as Job['result']) : null,
    lastError: doc.last_error
      ? {
          message: doc.last_error.message,
          code: doc.last_error.code,
          retryable: doc.last_error.retryable,
          attempt: doc.last_error.attempt,
          occurredAt: doc.last_error.occurred_at,
        }
      : null,
    createdAt: doc.created_at,
    updatedAt: doc.updated_at,
    startedAt: doc.started_at,
    finishedAt: doc.finished_at,
  };
}

/** Claim order: priority (high first), then run_at, then creation. */
const CLAIM_SORT = { priority: -1, run_at: 1, created_at: 1, _id: 1 } as const;

/** How many due job ids one candidate scan keeps. */
const CANDIDATE_BATCH = 512;

export class MongoJobRepository implements JobRepository {
  readonly collection: Collection<JobDocument>;
  private readonly candidateLists = new Map<
    string,
    { types: Set<string>; ids: string[]; more: boolean; expiresAt: number }
  >();

  constructor(
    private readonly client: MongoClient,
    db: Db,
    private readonly outbox: Outbox,
    /** Called after a transaction that wrote events committed (wakes the relay). */
    private readonly onCommitted: () => void = () => undefined,
    /** How long a candidate list serves claims before it is rescanned. */
    private readonly candidateTtlMs = 250,
  ) {
    this.collection = db.collection<JobDocument>(JOBS_COLLECTION);
  }

  async ensureIndexes(): Promise<void> {
    await this.collection.createIndexes([
      { key: { state: 1, type: 1, ...CLAIM_SORT }, name: 'claim_order' },
      { key: { state: 1, lease_expires_at: 1 }, name: 'expired_leases' },
      { key: { created_at: -1, _id: -1 }, name: 'newest_first' },
      {
        key: { idempotency_key: 1 },
        name: 'idempotency_key_unique',
        unique: true,
        partialFilterExpression: { idempotency_key: { $type: 'string' } },
      },
    ]);
  }

  private async appendEvents(session: ClientSession, events: Transition['events']) {
    if (events.length > 0) await this.outbox.append(session, toOutboxMessages(events));
  }

  async create(job: Job, events: Transition['events']): Promise<{ job: Job; created: boolean }> {
    try {
      await withTransaction(this.client, async (session) => {
        await this.collection.insertOne(toDocument(job), { session });
        await this.appendEvents(session, events);
      });
    } catch (err) {
      if (!isDuplicateKeyError(err) || job.idempotencyKey === '') throw err;
      const existing = await this.findByIdempotencyKey(job.idempotencyKey);
      if (!existing) throw err;
      return { job: existing, created: false };
    }
    this.invalidate(job.type);
    this.onCommitted();
    return { job, created: true };
  }

  async findById(id: string): Promise<Job | null> {
    const doc = await this.collection.findOne({ _id: id });
    return doc ? fromDocument(doc) : null;
  }

  async findByIdempotencyKey(key: string): Promise<Job | null> {
    const doc = await this.collection.findOne({ idempotency_key: key });
    return doc ? fromDocument(doc) : null;
  }

  async update(id: string, change: (job: Job) => Transition): Promise<Job> {
    let wroteEvents = false;
    const saved = await withTransaction(this.client, async (session) => {
      wroteEvents = false;
      const doc = await this.collection.findOne({ _id: id }, { session });
      if (!doc) throw new NotFoundError('job', id);
      const current = fromDocument(doc);
      const { job, events } = change(current);
      if (job === current && events.length === 0) return job;
      await this.collection.replaceOne({ _id: id }, toDocument(job), { session });
      await this.appendEvents(session, events);
      wroteEvents = events.length > 0;
      return job;
    });
    if (saved.state === 'PENDING') this.invalidate(saved.type);
    if (wroteEvents) this.onCommitted();
    return saved;
  }

  /**
   * Claims in one transaction. Candidates come from a short-lived, sorted list of due job ids per
   * type set (one ordered scan serves many claims); each is re-read and taken by `_id` with a
   * guard on PENDING and run_at, so a stale candidate is skipped, never double-claimed. The list
   * is dropped whenever this process makes a job of those types PENDING (create, retry, requeue),
   * so local priority order is exact; jobs made due by other replicas show up within its TTL.
   */
  async claim(
    types: string[],
    maxJobs: number,
    now: Date,
    start: (job: Job) => Transition,
  ): Promise<Job[]> {
    const key = [...types].sort().join('\n');
    const claimed = await withTransaction(this.client, async (session) => {
      const jobs: Job[] = [];
      const events: Transition['events'] = [];
      while (jobs.length < maxJobs) {
        const ids = await this.candidates(key, types, now);
        if (ids.length === 0) break;
        const batch = ids.splice(0, maxJobs - jobs.length);
        const docs = await this.collection.find({ _id: { $in: batch } }, { session }).toArray();
        const byId = new Map(docs.map((d) => [d._id, d]));
        const taken: Transition[] = [];
        for (const id of batch) {
          const doc = byId.get(id);
          if (!doc || doc.state !== 'PENDING' || doc.run_at > now) continue;
          taken.push(start(fromDocument(doc)));
        }
        if (taken.length === 0) continue;
        // Guarded on PENDING; a concurrent claim of the same job (another replica) is a write
        // conflict, and the driver reruns this whole transaction.
        const result = await this.collection.bulkWrite(
          taken.map((t) => ({
            replaceOne: {
              filter: { _id: t.job.id, state: 'PENDING' },
              replacement: toDocument(t.job),
            },
          })),
          { session, ordered: true },
        );
        if (result.matchedCount !== taken.length) throw new Error('claim guard mismatch');
        for (const t of taken) {
          jobs.push(t.job);
          events.push(...t.events);
        }
      }
      await this.appendEvents(session, events);
      return jobs;
    });
    if (claimed.length > 0) this.onCommitted();
    return claimed;
  }

  private async candidates(key: string, types: string[], now: Date): Promise<string[]> {
    const cached = this.candidateLists.get(key);
    if (cached && cached.expiresAt > Date.now() && (cached.ids.length > 0 || !cached.more))
      return cached.ids;
    const docs = await this.collection
      .find(
        { state: 'PENDING', type: { $in: types }, run_at: { $lte: now } },
        { sort: CLAIM_SORT, limit: CANDIDATE_BATCH, projection: { _id: 1 } },
      )
      .toArray();
    const list = {
      types: new Set(types),
      ids: docs.map((d) => d._id),
      more: docs.length === CANDIDATE_BATCH,
      expiresAt: Date.now() + this.candidateTtlMs,
    };
    this.candidateLists.set(key, list);
    return list.ids;
  }

  /** Drops the candidate lists that cover `type` (a job of it became PENDING here). */
  private invalidate(type: string): void {
    for (const [key, list] of this.candidateLists)
      if (list.types.has(type)) this.candidateLists.delete(key);
  }

  async findExpiredLeases(now: Date, limit: number): Promise<string[]> {
    const docs = await this.collection
      .find(
        { state: 'RUNNING', lease_expires_at: { $lte: now } },
        { projection: { _id: 1 }, limit, sort: { lease_expires_at: 1 } },
      )
      .toArray();
    return docs.map((d) => d._id);
  }

  async list(filter: ListJobsFilter, after: ListCursor | null, limit: number): Promise<Job[]> {
    const query: Filter<JobDocument> = {};
    if (filter.type) query.type = filter.type;
    if (filter.state) query.state = filter.state;
    const created: { $gte?: Date; $lt?: Date } = {};
    if (filter.createdAfter) created.$gte = filter.createdAfter;
    if (filter.createdBefore) created.$lt = filter.createdBefore;
    if (created.$gte || created.$lt) query.created_at = created;
    if (after) {
      query.$or = [
        { created_at: { $lt: after.createdAt } },
        { created_at: after.createdAt, _id: { $lt: after.id } },
      ];
    }
    const docs = await this.collection
      .find(query, { sort: { created_at: -1, _id: -1 }, limit })
      .toArray();
    return docs.map(fromDocument);
  }

  async countByTypeAndState(types: string[]): Promise<TypeStateCount[]> {
    const match = types.length > 0 ? [{ $match: { type: { $in: types } } }] : [];
    const rows = await this.collection
      .aggregate<{ _id: { type: string; state: JobState }; count: number }>([
        ...match,
        { $group: { _id: { type: '$type', state: '$state' }, count: { $sum: 1 } } },
      ])
      .toArray();
    return rows.map((r) => ({ type: r._id.type, state: r._id.state, count: Number(r.count) }));
  }

  async duePending(types: string[], now: Date): Promise<DuePending[]> {
    const match: Filter<JobDocument> = { state: 'PENDING', run_at: { $lte: now } };
    if (types.length > 0) match.type = { $in: types };
    const rows = await this.collection
      .aggregate<{ _id: string; count: number; oldest: Date }>([
        { $match: match },
        { $group: { _id: '$type', count: { $sum: 1 }, oldest: { $min: '$run_at' } } },
      ])
      .toArray();
    return rows.map((r) => ({ type: r._id, count: Number(r.count), oldestRunAt: r.oldest }));
  }
}
