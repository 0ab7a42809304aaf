import { isDeepStrictEqual } from 'node:util';
import type {
  AnyBulkWriteOperation,
  ClientSession,
  Collection,
  Db,
  Filter,
  MongoClient,
  UpdateFilter,
} from 'mongodb';
import { NotFoundError } from '@trellis/platform/errors';
import {
  applyChanges,
  type BatchOutcome,
  GroupCommit,
  outcomeOf,
} from '@trellis/platform/batching';
import {
  isDuplicateKeyError,
  withTransaction,
  type Outbox,
  type OutboxMessage,
  type StoredOutboxDocument,
} from '@trellis/platform/mongo';
import { traceHeaders } from '@trellis/platform/telemetry';
import { ClaimAllocation, claimGroups, claimTime } from '../../domain/claim-policy';
import type { ChildFailurePolicy, Job, JobState, Transition } from '../../domain/job';
import type {
  ClaimSpec,
  DuePending,
  JobChange,
  JobRepository,
  ListCursor,
  ListJobsFilter,
  TypeStateCount,
} from '../../app/ports/job.repository.port';
import { type Candidate, ClaimCandidates } from './claim-candidates';
import { propagateFlows } from './flow-propagation';
import { toOutboxMessages } from './job-events.outbox';
import { WrittenJobs } from './written-jobs';

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
  /** The flow parent (null for none; absent on jobs stored before flows). Indexed with state. */
  parent_id?: string | null;
  /** Present on flow parents only. */
  child_count?: number;
  pending_children?: number;
  on_child_failure?: ChildFailurePolicy;
  /**
   * How many times the document was changed (absent: never). Every change goes through `updateOf`,
   * which adds one, so a write guarded on it applies only to the version its base was.
   */
  rev?: number;
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
    parent_id: job.parentId,
  };
  if (job.idempotencyKey !== '') doc.idempotency_key = job.idempotencyKey;
  doc.parent_id = job.parentId;
  if (job.childCount > 0) {
    doc.child_count = job.childCount;
    doc.pending_children = job.pendingChildren;
    doc.on_child_failure = job.onChildFailure;
  }
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
    parentId: doc.parent_id ?? null,
    childCount: doc.child_count ?? 0,
    pendingChildren: doc.pending_children ?? 0,
    onChildFailure: doc.on_child_failure ?? 'FAIL_PARENT',
  };
}

/** Equal as stored: most fields are strings, numbers or dates, compared without a deep walk. */
function sameValue(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (a instanceof Date && b instanceof Date) return a.getTime() === b.getTime();
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
  return isDeepStrictEqual(a, b);
}

/**
 * The update taking the stored `before` to `after`: only the fields that differ, so a claim or a
 * completion sends a few fields instead of the whole job (payload included). Null: no change.
 */
export function updateOf(
  before: JobDocument,
  after: JobDocument,
): UpdateFilter<JobDocument> | null {
  const set: Record<string, unknown> = {};
  const unset: Record<string, ''> = {};
  const stored = before as unknown as Record<string, unknown>;
  for (const [key, value] of Object.entries(after))
    if (key !== '_id' && key !== 'rev' && !sameValue(stored[key], value)) set[key] = value;
  for (const key of Object.keys(before)) if (key !== 'rev' && !(key in after)) unset[key] = '';
  const update: UpdateFilter<JobDocument> = {};
  if (Object.keys(set).length > 0) update.$set = set as Partial<JobDocument>;
  if (Object.keys(unset).length > 0) update.$unset = unset;
  if (!update.$set && !update.$unset) return null;
  update.$inc = { rev: 1 };
  return update;
}

/**
 * `after` (made for this write) as `updateOf(before, after)` leaves it stored. Set in place: V8
 * adds a key to an object-spread copy ~10× slower than to a literal, and this runs for every write.
 */
function revisedAfter(before: JobDocument, after: JobDocument): JobDocument {
  after.rev = (before.rev ?? 0) + 1;
  return after;
}

/** Matches the document only while it is still the version `base` is. */
function sameRevision(base: JobDocument): Filter<JobDocument> {
  return base.rev === undefined ? { rev: { $exists: false } } : { rev: base.rev };
}

/**
 * Jobs of a change transaction whose remembered document (WrittenJobs) turned out not to be the
 * stored one: they are forgotten and the transaction runs again, reading them.
 */
class StaleDocuments extends Error {
  constructor(readonly ids: string[]) {
    super(`${ids.length} remembered job documents were not current`);
  }
}

/** Claim order: priority (high first), then run_at, then creation. */
const CLAIM_SORT = { priority: -1, run_at: 1, created_at: 1, _id: 1 } as const;

/** How many due job ids one candidate scan keeps. */
const CANDIDATE_BATCH = 512;

/** What every group-committed call carries: the trace context its events are written with. */
interface TracedRequest {
  trace: Record<string, string>;
}

interface CreateRequest extends TracedRequest {
  /** The job whose idempotency key counts, then (a flow) the rest of its jobs. */
  job: Job;
  descendants: Job[];
  events: Transition['events'];
  handOff?: ClaimSpec;
}

interface Created {
  job: Job;
  created: boolean;
  claimed?: Job;
}

/**
 * What a create inserts: the new job, or (handed off) that job claimed, then a flow's other jobs;
 * and their events.
 */
function insertOf({ job, descendants, events, trace, handOff }: CreateRequest) {
  const start = handOff?.start(job);
  return {
    docs: [toDocument(start?.job ?? job), ...descendants.map(toDocument)],
    messages: messagesOf([...events, ...(start?.events ?? [])], trace),
    created: { job, created: true, ...(start && { claimed: start.job }) } as Created,
  };
}

type UpdateRequest = JobChange & TracedRequest;

type ClaimRequest = ClaimSpec & TracedRequest;

/** One write of a job in a transaction's bulk write. */
type JobWrite = AnyBulkWriteOperation<JobDocument>;

function insertWrite(document: JobDocument): JobWrite {
  return { insertOne: { document } };
}

/** What a change transaction's writes leave stored, and which of them rest on remembered bases. */
interface Written {
  /** Each written job's document as the write leaves it (for WrittenJobs after the commit). */
  saved: JobDocument[];
  /** Jobs whose write is guarded on a remembered revision: a missed write is one of these. */
  guarded: string[];
}

/**
 * `claim` with the trace context its events are written under, as a literal (see revisedAfter);
 * `Required` makes a field added to ClaimSpec fail to compile here rather than be dropped.
 */
function tracedClaim(claim: ClaimSpec, trace: Record<string, string>): ClaimRequest {
  const request: Required<ClaimSpec> & TracedRequest = {
    types: claim.types,
    maxJobs: claim.maxJobs,
    now: claim.now,
    start: claim.start,
    trace,
  };
  return request;
}

/** `change` with the trace context its events are written under (as tracedClaim). */
function tracedChange({ id, change }: JobChange, trace: Record<string, string>): UpdateRequest {
  const request: Required<JobChange> & TracedRequest = { id, change, trace };
  return request;
}

/**
 * One call of `update`, `claim` or `completeAndClaim`: its updates and its claim go into the same
 * transaction, whatever else the group commit puts there (see `changes`).
 */
interface ChangeRequest {
  updates: UpdateRequest[];
  claim: ClaimRequest | null;
}

/** What a ChangeRequest came to: each update's outcome, and the claim's jobs. */
interface ChangeResult {
  changed: Array<BatchOutcome<Job>>;
  claimed: Job[];
}

/** Updates and claims one change transaction carries at most (a larger call goes alone). */
const MAX_CHANGES_PER_TRANSACTION = 256;
/**
 * Change transactions committing at once. Two keep both processes busy: MongoDB works on one while
 * this process builds or answers the other (one at a time left one worker at 0.9× pg-boss, whose
 * fetch and completion run in two PostgreSQL processes). Three conflicted more than they gained.
 */
const CHANGE_TRANSACTIONS_IN_FLIGHT = 2;

/** The outbox messages of one call's events, under that call's trace context. */
export function messagesOf(
  events: Transition['events'],
  trace: Record<string, string>,
): OutboxMessage[] {
  const messages = toOutboxMessages(events);
  for (const message of messages) message.headers = trace;
  return messages;
}

export class MongoJobRepository implements JobRepository {
  readonly collection: Collection<JobDocument>;
  private readonly candidates: ClaimCandidates;
  /** The jobs this process wrote last, so a claim or completion need not read them back. */
  private readonly written = new WrittenJobs({
    maxJobs: 20_000,
    maxJsonChars: 32 * 1024 * 1024,
  });
  /** Candidate scans in flight for claims' due-checks, by type set. */
  private readonly scans = new Map<string, Promise<Candidate[]>>();
  /**
   * The jobs each change transaction in flight is claiming. A candidate scan leaves them out: it
   * reads committed state, where they are still PENDING, and claiming one again would only end in
   * a write conflict and a rerun.
   */
  private readonly claiming = new Set<Set<string>>();

  /**
   * Creates and changes (updates and claims) are group-committed: those that arrive while a
   * transaction of their kind is committing go together in the next one (see GroupCommit).
   * `completeAndClaim` is one change request, so its completions and its claim always share a
   * transaction (one per worker cycle, as moveToFinished in BullMQ), not only when they happen
   * to arrive together.
   */
  private readonly creates = new GroupCommit((batch: CreateRequest[]) => this.commitCreates(batch));
  private readonly changes = new GroupCommit(
    (batch: ChangeRequest[]) => this.commitChanges(batch),
    {
      weigh: (request) => request.updates.length + (request.claim ? 1 : 0),
      maxBatchWeight: MAX_CHANGES_PER_TRANSACTION,
      maxInFlight: CHANGE_TRANSACTIONS_IN_FLIGHT,
    },
  );

  constructor(
    private readonly client: MongoClient,
    db: Db,
    private readonly outbox: Outbox,
    /** Called with the outbox documents a transaction committed (the relay sends them). */
    private readonly onCommitted: (docs: StoredOutboxDocument[]) => void = () => undefined,
    /** How long a candidate list serves claims before it is rescanned. */
    candidateTtlMs = 250,
    /** Called after a flow parent became PENDING with its last child's change (wakes claimers). */
    private readonly onReleased: (job: Job) => void = () => undefined,
  ) {
    this.collection = db.collection<JobDocument>(JOBS_COLLECTION);
    this.candidates = new ClaimCandidates(candidateTtlMs);
  }

  async ensureIndexes(): Promise<void> {
    await this.collection.createIndexes([
      { key: { state: 1, type: 1, ...CLAIM_SORT }, name: 'claim_order' },
      { key: { state: 1, lease_expires_at: 1 }, name: 'expired_leases' },
      { key: { created_at: -1, _id: -1 }, name: 'newest_first' },
      // A flow's children by parent and state (settling, cascades, claims' children results).
      {
        key: { parent_id: 1, state: 1 },
        name: 'parent_state',
        partialFilterExpression: { parent_id: { $type: 'string' } },
      },
      {
        key: { idempotency_key: 1 },
        name: 'idempotency_key_unique',
        unique: true,
        partialFilterExpression: { idempotency_key: { $type: 'string' } },
      },
    ]);
  }

  /**
   * Saves a transaction's job writes and its events (one outbox document for the whole group
   * commit, returned as `committed`), in one round trip on MongoDB 8.0+ (`Outbox.appendGroupWith`).
   */
  private async save(session: ClientSession, writes: JobWrite[], messages: OutboxMessage[]) {
    const { matched, documents } = await this.outbox.appendGroupWith(
      this.client,
      session,
      { collection: this.collection, writes },
      messages,
    );
    return { matched, committed: documents };
  }

  create(job: Job, events: Transition['events'], handOff?: ClaimSpec): Promise<Created> {
    return this.creates.submit({ job, descendants: [], events, handOff, trace: traceHeaders() });
  }

  createFlow(
    root: Job,
    descendants: Job[],
    events: Transition['events'],
  ): Promise<{ job: Job; created: boolean }> {
    return this.creates.submit({ job: root, descendants, events, trace: traceHeaders() });
  }

  /**
   * One transaction inserts the batch's new jobs and their events. A key already stored, or used
   * earlier in the batch, gives that job instead. If the insert still meets a duplicate key (a
   * concurrent create elsewhere), the batch falls back to one transaction per job.
   */
  private async commitCreates(batch: CreateRequest[]): Promise<Array<BatchOutcome<Created>>> {
    let outcomes: Array<BatchOutcome<Created>> = [];
    let committed: StoredOutboxDocument[] = [];
    let inserted: JobDocument[] = [];
    try {
      committed = await withTransaction(this.client, async (session) => {
        const keys = [...new Set(batch.map((r) => r.job.idempotencyKey).filter((k) => k !== ''))];
        const stored = new Map<string, Job>();
        if (keys.length > 0) {
          const docs = await this.collection
            .find({ idempotency_key: { $in: keys } }, { session })
            .toArray();
          for (const doc of docs) stored.set(doc.idempotency_key!, fromDocument(doc));
        }
        outcomes = [];
        const inserts: JobDocument[] = [];
        const messages: OutboxMessage[] = [];
        for (const request of batch) {
          const { job } = request;
          const existing = job.idempotencyKey === '' ? undefined : stored.get(job.idempotencyKey);
          if (existing) {
            outcomes.push({ value: { job: existing, created: false } });
            continue;
          }
          if (job.idempotencyKey !== '') stored.set(job.idempotencyKey, job);
          const insert = insertOf(request);
          inserts.push(...insert.docs);
          messages.push(...insert.messages);
          outcomes.push({ value: insert.created });
        }
        inserted = inserts;
        return (await this.save(session, inserts.map(insertWrite), messages)).committed;
      });
    } catch (err) {
      if (!isDuplicateKeyError(err)) throw err;
      return Promise.all(batch.map((r) => outcomeOf(this.createOne(r))));
    }
    this.rememberInserted(inserted);
    batch.forEach((request, i) => {
      const outcome = outcomes[i];
      if ('value' in outcome && outcome.value.created) this.madePending(request, outcome.value);
    });
    this.onCommitted(committed);
    return outcomes;
  }

  private async createOne(request: CreateRequest): Promise<Created> {
    const { job } = request;
    const insert = insertOf(request);
    let committed: StoredOutboxDocument[];
    try {
      committed = await withTransaction(
        this.client,
        async (session) =>
          (await this.save(session, insert.docs.map(insertWrite), insert.messages)).committed,
      );
    } catch (err) {
      if (!isDuplicateKeyError(err) || job.idempotencyKey === '') throw err;
      const existing = await this.findByIdempotencyKey(job.idempotencyKey);
      if (!existing) throw err;
      return { job: existing, created: false };
    }
    this.rememberInserted(insert.docs);
    this.madePending(request, insert.created);
    this.onCommitted(committed);
    return insert.created;
  }

  private rememberInserted(docs: JobDocument[]): void {
    const nowMs = Date.now();
    for (const doc of docs) this.written.remember(doc, nowMs);
  }

  async findById(id: string): Promise<Job | null> {
    const doc = await this.collection.findOne({ _id: id });
    return doc ? fromDocument(doc) : null;
  }

  private async findByIdempotencyKey(key: string): Promise<Job | null> {
    const doc = await this.collection.findOne({ idempotency_key: key });
    return doc ? fromDocument(doc) : null;
  }

  async update(id: string, change: (job: Job) => Transition): Promise<Job> {
    const trace = traceHeaders();
    const { changed } = await this.changes.submit({
      updates: [{ id, change, trace }],
      claim: null,
    });
    const [outcome] = changed;
    if ('error' in outcome) throw outcome.error;
    return outcome.value;
  }

  /**
   * Claims are group-committed with the updates (see commitChanges): one transaction serves every
   * claim that queued while the previous one committed. Candidates come from a short-lived, sorted
   * list of due job ids per type set (one ordered scan serves many claims); each is re-read and
   * taken by `_id` with a guard on PENDING and run_at, so a stale candidate is skipped, never
   * double-claimed. A job this process makes PENDING (create, retry, requeue) joins the list at its
   * place, so local priority order is exact; jobs made due by other replicas show up within its TTL.
   */
  async claim(claim: ClaimSpec): Promise<Job[]> {
    // Nothing due (an idle long-poll's poll): no transaction, only the candidate scan it would run.
    if (!(await this.anyDue(claim))) return [];
    const trace = traceHeaders();
    return (await this.changes.submit({ updates: [], claim: tracedClaim(claim, trace) })).claimed;
  }

  /**
   * Whether the claim's candidate list (the cached one, or a fresh indexed scan of committed
   * state, which the transaction would run first anyway) holds a due job. The transaction still
   * re-checks every candidate, so a stale "due" only costs an empty claim.
   */
  private async anyDue(claim: ClaimSpec): Promise<boolean> {
    const key = ClaimCandidates.key(claim.types);
    const cached = this.candidates.get(key, Date.now());
    if (cached) return cached.length > 0;
    // Claims arriving during a scan share it, so they still reach the group commit in order.
    let scan = this.scans.get(key);
    if (!scan) {
      scan = this.dueCandidates(key, claim.types, claim.now, [...this.claiming]).finally(() =>
        this.scans.delete(key),
      );
      this.scans.set(key, scan);
    }
    return (await scan).length > 0;
  }

  completeAndClaim(changes: JobChange[], claim: ClaimSpec | null): Promise<ChangeResult> {
    const trace = traceHeaders();
    return this.changes.submit({
      updates: changes.map((change) => tracedChange(change, trace)),
      claim: claim && tracedClaim(claim, trace),
    });
  }

  /**
   * One transaction applies the batch's updates, then its claims (which leave out the jobs the
   * updates touch), and writes both in one bulk write with all their events. Jobs this process
   * wrote last are not read back (WrittenJobs); if one of those turns out to have changed since,
   * the transaction runs again with it read.
   */
  private async commitChanges(batch: ChangeRequest[]): Promise<Array<BatchOutcome<ChangeResult>>> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.commitChangesOnce(batch);
      } catch (err) {
        if (!(err instanceof StaleDocuments) || attempt >= 3) throw err;
        for (const id of err.ids) this.written.forget(id);
      }
    }
  }

  private async commitChangesOnce(
    batch: ChangeRequest[],
  ): Promise<Array<BatchOutcome<ChangeResult>>> {
    const updates = batch.flatMap((request) => request.updates);
    const claims = batch.flatMap((request) => (request.claim ? [request.claim] : []));
    let attempts = 0;
    const taken = new Set<string>();
    if (claims.length > 0) this.claiming.add(taken);
    const { updated, claimed, committed, saved } = await withTransaction(
      this.client,
      async (session) => {
        // Claims consume the cached candidate lists; an attempt that did not commit (rerun after a
        // TransientTransactionError such as a WriteConflict) took jobs that are still PENDING.
        if (attempts++ > 0) this.candidates.clear();
        taken.clear();
        const written: Written = { saved: [], guarded: [] };
        const updated = await this.applyUpdates(session, updates, written);
        const claimed = await this.applyClaims(session, claims, updated.touched, taken, written);
        // Every write must match: the updates' jobs were read in this snapshot (or are guarded on
        // the revision this process wrote), and a claim's job was PENDING and touched by nothing
        // else here (a change by another replica since is a write conflict, which reruns the
        // transaction). A miss fails it instead of handing out a job that is not PENDING.
        // The events go in the same command; a miss aborts the transaction, and them with it.
        const writes = [...updated.writes, ...claimed.writes];
        const { matched, committed } = await this.save(session, writes, [
          ...updated.messages,
          ...claimed.messages,
        ]);
        if (matched !== writes.length) {
          if (written.guarded.length > 0) throw new StaleDocuments(written.guarded);
          throw new Error('claim guard mismatch');
        }
        return { updated, claimed, committed, saved: written.saved };
      },
    )
      .catch((err: unknown) => {
        if (claims.length > 0) this.candidates.clear();
        throw err;
      })
      .finally(() => this.claiming.delete(taken));
    const nowMs = Date.now();
    for (const doc of saved) this.written.remember(doc, nowMs);
    for (const job of updated.madePending) this.becamePending(job);
    for (const job of updated.released) this.onReleased(job);
    if (committed.length > 0) this.onCommitted(committed);
    let nextUpdate = 0;
    let nextClaim = 0;
    return batch.map((request) => ({
      value: {
        changed: updated.outcomes.slice(nextUpdate, (nextUpdate += request.updates.length)),
        claimed: request.claim ? claimed.results[nextClaim++] : [],
      },
    }));
  }

  /**
   * The stored documents of `ids`: those this process wrote last from memory (returned in
   * `remembered`, their writes to be guarded on the revision), the rest read in the transaction.
   */
  private async load(
    session: ClientSession,
    ids: string[],
    usable: (doc: JobDocument) => boolean = () => true,
  ) {
    const docs = new Map<string, JobDocument>();
    const remembered = new Set<string>();
    const unread: string[] = [];
    for (const id of ids) {
      const doc = this.written.get(id);
      if (doc && usable(doc)) {
        docs.set(id, doc);
        remembered.add(id);
      } else unread.push(id);
    }
    if (unread.length > 0)
      for (const doc of await this.collection.find({ _id: { $in: unread } }, { session }).toArray())
        docs.set(doc._id, doc);
    return { docs, remembered };
  }

  /**
   * The write taking `before` to `after` (none if they agree), guarded as `guard` says and, for a
   * remembered base, on its revision; recorded in `written`.
   */
  private writeOf(
    before: JobDocument,
    after: JobDocument,
    guard: Filter<JobDocument>,
    remembered: Set<string>,
    written: Written,
  ): JobWrite[] {
    const update = updateOf(before, after);
    if (!update) return [];
    written.saved.push(revisedAfter(before, after));
    if (!remembered.has(before._id))
      return [{ updateOne: { filter: { _id: before._id, ...guard }, update } }];
    written.guarded.push(before._id);
    const filter = { _id: before._id, ...guard, ...sameRevision(before) };
    return [{ updateOne: { filter, update } }];
  }

  /**
   * Loads the jobs and applies each change in queue order (several changes of one job see each
   * other's result); returns the writes that save every changed job once. A change that throws
   * fails its own request only; it writes nothing.
   */
  private async applyUpdates(session: ClientSession, batch: UpdateRequest[], written: Written) {
    const touched = new Set(batch.map((r) => r.id));
    if (batch.length === 0) {
      const none: Array<BatchOutcome<Job>> = [];
      return { outcomes: none, messages: [], madePending: [], released: [], writes: [], touched };
    }
    const { docs: stored, remembered } = await this.load(session, [...touched]);
    const loaded = new Map([...stored].map(([id, doc]) => [id, fromDocument(doc)]));
    const { outcomes, changed, published } = applyChanges(batch, loaded, {
      stateOf: (transition: Transition) => transition.job,
      notFound: (id) => new NotFoundError('job', id),
    });
    const messages = published.flatMap(({ request, events }) => messagesOf(events, request.trace));
    // The latest state of every loaded job, as the flow rules read it.
    const current = new Map([...loaded, ...changed]);
    // Flow parents and children change with them, here (the trace is the first change's).
    const trace = batch[0].trace;
    await propagateFlows(
      session,
      this.collection,
      { stored, current, changed, messages },
      (events) => messagesOf(events, trace),
      fromDocument,
    );
    for (const id of changed.keys()) touched.add(id);
    const writes = [...changed.values()].flatMap((job) =>
      this.writeOf(stored.get(job.id)!, toDocument(job), {}, remembered, written),
    );
    // A remembered job that a change refused or left as it was: the refusal or the answer may
    // rest on a version that is no longer current, so it is read and the change decided again.
    const guarded = new Set(written.guarded);
    const unconfirmed = batch.filter(
      (request, i) =>
        remembered.has(request.id) && ('error' in outcomes[i] || !guarded.has(request.id)),
    );
    if (unconfirmed.length > 0) throw new StaleDocuments(unconfirmed.map((r) => r.id));
    const madePending = [...changed.values()].filter((job) => job.state === 'PENDING');
    const released = madePending.filter((job) => stored.get(job.id)!.state === 'WAITING_CHILDREN');
    return { outcomes, messages, madePending, released, writes, touched };
  }

  /**
   * Takes due jobs for the claims into `taken`, skipping those in `exclude` (updated in the same
   * transaction) and those the other transaction in flight is claiming; returns the writes, each
   * guarded on PENDING. Which claim gets which job is the claim policy's (domain/claim-policy.ts);
   * this only reads, checks and writes.
   */
  private async applyClaims(
    session: ClientSession,
    batch: ClaimRequest[],
    exclude: Set<string>,
    taken: Set<string>,
    written: Written,
  ) {
    const results = batch.map((): Job[] => []);
    const messages: OutboxMessage[] = [];
    const writes: JobWrite[] = [];
    if (batch.length === 0) return { results, messages, writes };
    const now = claimTime(batch.map((r) => r.now));
    for (const group of claimGroups(batch)) {
      const allocation = new ClaimAllocation(batch, group);
      while (!allocation.done) {
        // The writes wait for the end of the transaction, so a rescan still reads the jobs taken
        // earlier in it, or by the other transaction in flight, as PENDING.
        const due = await this.dueCandidates(group.key, group.types, now, [
          exclude,
          ...this.claiming,
        ]);
        if (due.length === 0) break;
        const picked = due.splice(0, allocation.wanted());
        const candidateIds = picked.map((c) => c.id);
        const { docs: byId, remembered } = await this.load(
          session,
          candidateIds,
          (doc) => doc.state === 'PENDING',
        );
        const starts: Array<{ claim: number; transition: Transition }> = [];
        for (const [k, id] of candidateIds.entries()) {
          const doc = byId.get(id);
          if (!doc || doc.state !== 'PENDING' || doc.run_at > now) continue;
          if (exclude.has(id) || this.isClaiming(id)) continue;
          const claim = allocation.take(doc.payload_json.length);
          if (claim === undefined) {
            // Every claim is full by size: the rest stay candidates, in order, for later claims.
            due.unshift(...picked.slice(k));
            break;
          }
          starts.push({ claim, transition: batch[claim].start(fromDocument(doc)) });
          taken.add(id);
        }
        // Guarded on PENDING; a concurrent claim of the same job (another replica) is a write
        // conflict, and the driver reruns this whole transaction.
        for (const { claim, transition } of starts) {
          const base = byId.get(transition.job.id)!;
          const guard = { state: 'PENDING' } as const;
          writes.push(
            ...this.writeOf(base, toDocument(transition.job), guard, remembered, written),
          );
          results[claim].push(transition.job);
          messages.push(...messagesOf(transition.events, batch[claim].trace));
        }
      }
    }
    return { results, messages, writes };
  }

  /** Whether a change transaction in flight (this one included) is claiming `id`. */
  private isClaiming(id: string): boolean {
    for (const taken of this.claiming) if (taken.has(id)) return true;
    return false;
  }

  /**
   * The live candidate list of `key`, scanned again when it has expired or run out. A scan leaves
   * out `skip`: jobs the transaction asking has taken or changed, which the scan (of committed
   * state) still sees as PENDING; without that, a claim taking more than one scan's worth would
   * find the same jobs again and again.
   */
  private async dueCandidates(
    key: string,
    types: string[],
    now: Date,
    skip: Array<Set<string>>,
  ): Promise<Candidate[]> {
    const cached = this.candidates.get(key, Date.now());
    if (cached) return cached;
    const skipIds = skip.flatMap((ids) => [...ids]);
    const docs = await this.collection
      .find(
        {
          state: 'PENDING',
          type: { $in: types },
          run_at: { $lte: now },
          ...(skipIds.length > 0 && { _id: { $nin: skipIds } }),
        },
        {
          sort: CLAIM_SORT,
          limit: CANDIDATE_BATCH,
          projection: { _id: 1, priority: 1, run_at: 1, created_at: 1 },
        },
      )
      .toArray();
    const entries = docs.map((doc) => ({
      id: doc._id,
      priority: doc.priority,
      runAt: doc.run_at.getTime(),
      createdAt: doc.created_at.getTime(),
    }));
    return this.candidates.set(key, types, entries, docs.length === CANDIDATE_BATCH, Date.now());
  }

  /**
   * The new jobs of a create request that are PENDING (not flow parents, not the job a waiting
   * claim took at once) join the candidates.
   */
  private madePending({ job, descendants }: CreateRequest, created: Created): void {
    for (const made of created.claimed ? descendants : [job, ...descendants])
      if (made.state === 'PENDING') this.becamePending(made);
  }

  /** Keeps the claim candidates exact when this process makes a job PENDING. */
  private becamePending(job: Job): void {
    this.candidates.add(
      job.type,
      {
        id: job.id,
        priority: job.priority,
        runAt: job.runAt.getTime(),
        createdAt: job.createdAt.getTime(),
      },
      Date.now(),
    );
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
    if (filter.parentId) query.parent_id = filter.parentId;
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

  async listChildren(parentIds: string[]): Promise<Job[]> {
    if (parentIds.length === 0) return [];
    const docs = await this.collection
      .find({ parent_id: { $in: parentIds } }, { sort: { created_at: 1, _id: 1 } })
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
