import type { ClientSession, Collection, Db, MongoClient, UpdateFilter } from 'mongodb';
import { AlreadyExistsError, NotFoundError } from '@trellis/platform/errors';
import {
  isDuplicateKeyError,
  withTransaction,
  type Outbox,
  type OutboxMessage,
} from '@trellis/platform/mongo';
import { traceHeaders } from '@trellis/platform/telemetry';
import type { Job } from '../../domain/job';
import type {
  CatchUpPolicy,
  JobTemplate,
  OverlapPolicy,
  Schedule,
  ScheduleRun,
} from '../../domain/schedule';
import type { FireTransition, ScheduleRepository } from '../../app/ports/schedule.repository.port';
import {
  fromDocument,
  JOBS_COLLECTION,
  messagesOf,
  toDocument,
  updateOf,
  type JobDocument,
} from './job.repository';

/** A schedule as stored in `schedules` (snake_case; the template's payload as JSON text). */
export interface ScheduleDocument {
  _id: string;
  template: {
    type: string;
    payload_json: string;
    priority: number;
    max_attempts: number;
    lease_ms: number | null;
  };
  cron: string | null;
  time_zone: string | null;
  interval_ms: number | null;
  start_at: Date | null;
  end_at: Date | null;
  jitter_ms: number;
  catch_up: CatchUpPolicy;
  max_catch_up_runs: number;
  overlap: OverlapPolicy;
  paused: boolean;
  next_tick_at: Date | null;
  buffered_tick_at: Date | null;
  /** What the tickers scan (index `due`); null when ended. */
  due_at: Date | null;
  last_runs: Array<{ scheduled_at: Date; job_id: string; fired_at: Date; triggered: boolean }>;
  version: number;
  created_at: Date;
  updated_at: Date;
}

export const SCHEDULES_COLLECTION = 'schedules';

function toTemplateDocument(t: JobTemplate): ScheduleDocument['template'] {
  return {
    type: t.type,
    payload_json: JSON.stringify(t.payload),
    priority: t.priority,
    max_attempts: t.maxAttempts,
    lease_ms: t.leaseDurationMs ?? null,
  };
}

export function toScheduleDocument(s: Schedule): ScheduleDocument {
  const { definition: d } = s;
  return {
    _id: s.id,
    template: toTemplateDocument(d.template),
    cron: d.timing.kind === 'cron' ? d.timing.cron : null,
    time_zone: d.timing.kind === 'cron' ? d.timing.timeZone : null,
    interval_ms: d.timing.kind === 'interval' ? d.timing.intervalMs : null,
    start_at: d.startAt,
    end_at: d.endAt,
    jitter_ms: d.jitterMs,
    catch_up: d.catchUp,
    max_catch_up_runs: d.maxCatchUpRuns,
    overlap: d.overlap,
    paused: s.paused,
    next_tick_at: s.nextTickAt,
    buffered_tick_at: s.bufferedTickAt,
    due_at: s.dueAt,
    last_runs: s.lastRuns.map((r) => ({
      scheduled_at: r.scheduledAt,
      job_id: r.jobId,
      fired_at: r.firedAt,
      triggered: r.triggered,
    })),
    version: s.version,
    created_at: s.createdAt,
    updated_at: s.updatedAt,
  };
}

export function fromScheduleDocument(doc: ScheduleDocument): Schedule {
  const runs: ScheduleRun[] = doc.last_runs.map((r) => ({
    scheduledAt: r.scheduled_at,
    jobId: r.job_id,
    firedAt: r.fired_at,
    triggered: r.triggered,
  }));
  return {
    id: doc._id,
    definition: {
      template: {
        type: doc.template.type,
        payload: JSON.parse(doc.template.payload_json) as JobTemplate['payload'],
        priority: doc.template.priority,
        maxAttempts: doc.template.max_attempts,
        leaseDurationMs: doc.template.lease_ms ?? undefined,
      },
      timing:
        doc.cron !== null
          ? { kind: 'cron', cron: doc.cron, timeZone: doc.time_zone ?? 'UTC' }
          : { kind: 'interval', intervalMs: doc.interval_ms ?? 0 },
      startAt: doc.start_at,
      endAt: doc.end_at,
      jitterMs: doc.jitter_ms,
      catchUp: doc.catch_up,
      maxCatchUpRuns: doc.max_catch_up_runs,
      overlap: doc.overlap,
    },
    paused: doc.paused,
    nextTickAt: doc.next_tick_at,
    bufferedTickAt: doc.buffered_tick_at,
    dueAt: doc.due_at,
    lastRuns: runs,
    version: doc.version,
    createdAt: doc.created_at,
    updatedAt: doc.updated_at,
  };
}

/** Aborts a firing whose schedule another writer changed first. */
class Superseded extends Error {}

/** The schedule's document after a change, one version on, replacing `before` only if unchanged. */
async function replaceIfUnchanged(
  collection: Collection<ScheduleDocument>,
  before: Schedule,
  after: Schedule,
  session?: ClientSession,
): Promise<Schedule | null> {
  const saved = { ...after, version: before.version + 1 };
  const result = await collection.replaceOne(
    { _id: before.id, version: before.version },
    toScheduleDocument(saved),
    { session },
  );
  return result.matchedCount === 1 ? saved : null;
}

/**
 * Schedules in MongoDB. A firing writes its jobs (the job documents and outbox events of
 * job.repository) and the schedule's next state in one transaction; the job's idempotency
 * key (the tick) and the version condition make a tick fire once across replicas.
 */
export class MongoScheduleRepository implements ScheduleRepository {
  readonly collection: Collection<ScheduleDocument>;
  private readonly jobs: Collection<JobDocument>;

  constructor(
    private readonly client: MongoClient,
    db: Db,
    private readonly outbox: Outbox,
    /** Called after a transaction that wrote events committed (wakes the relay). */
    private readonly onCommitted: () => void = () => undefined,
    /** Called after a create or an update (wakes this replica's sleeping ticker). */
    private readonly onChanged: () => void = () => undefined,
  ) {
    this.collection = db.collection<ScheduleDocument>(SCHEDULES_COLLECTION);
    this.jobs = db.collection<JobDocument>(JOBS_COLLECTION);
  }

  async ensureIndexes(): Promise<void> {
    await this.collection.createIndexes([
      {
        key: { due_at: 1 },
        name: 'due',
        partialFilterExpression: { paused: false, due_at: { $type: 'date' } },
      },
    ]);
  }

  async create(schedule: Schedule): Promise<Schedule> {
    try {
      await this.collection.insertOne(toScheduleDocument(schedule));
    } catch (err) {
      if (!isDuplicateKeyError(err)) throw err;
      throw new AlreadyExistsError(
        'JOB.SCHEDULE_EXISTS',
        `schedule ${schedule.id} exists already`,
        { schedule_id: schedule.id },
      );
    }
    this.onChanged();
    return schedule;
  }

  async findById(id: string): Promise<Schedule | null> {
    const doc = await this.collection.findOne({ _id: id });
    return doc ? fromScheduleDocument(doc) : null;
  }

  async list(afterId: string | null, limit: number): Promise<Schedule[]> {
    const docs = await this.collection
      .find(afterId === null ? {} : { _id: { $gt: afterId } }, { sort: { _id: 1 }, limit })
      .toArray();
    return docs.map(fromScheduleDocument);
  }

  async update(id: string, change: (schedule: Schedule) => Schedule): Promise<Schedule> {
    for (;;) {
      const current = await this.findById(id);
      if (!current) throw new NotFoundError('schedule', id);
      const next = change(current);
      if (next === current) return current;
      const saved = await replaceIfUnchanged(this.collection, current, next);
      if (saved) {
        this.onChanged();
        return saved;
      }
      // A ticker or another call wrote it since: apply the change to what it wrote.
    }
  }

  async delete(id: string): Promise<boolean> {
    const result = await this.collection.deleteOne({ _id: id });
    return result.deletedCount === 1;
  }

  async findDue(now: Date, limit: number): Promise<string[]> {
    const docs = await this.collection
      .find(
        { paused: false, due_at: { $type: 'date', $lte: now } },
        { projection: { _id: 1 }, sort: { due_at: 1 }, limit },
      )
      .toArray();
    return docs.map((d) => d._id);
  }

  async nextDueAt(): Promise<Date | null> {
    const doc = await this.collection.findOne(
      { paused: false, due_at: { $type: 'date' } },
      { projection: { due_at: 1 }, sort: { due_at: 1 } },
    );
    return doc?.due_at ?? null;
  }

  async fire(
    id: string,
    change: (schedule: Schedule, previous: Job | null) => FireTransition | null,
  ): Promise<FireTransition | null> {
    return (await this.fireMany([id], change))[0];
  }

  /**
   * Fires several schedules in one transaction (a ticker pass). If any of them was changed by
   * another writer meanwhile, the transaction aborts and each is fired on its own instead, so one
   * lost race costs its own firing only.
   */
  async fireMany(
    ids: string[],
    change: (schedule: Schedule, previous: Job | null) => FireTransition | null,
  ): Promise<Array<FireTransition | null>> {
    try {
      return await this.commitFirings(ids, change);
    } catch (err) {
      if (!isDuplicateKeyError(err) && !(err instanceof Superseded)) throw err;
      if (ids.length === 1) return [null];
      const outcomes: Array<FireTransition | null> = [];
      for (const id of ids) outcomes.push(...(await this.fireMany([id], change)));
      return outcomes;
    }
  }

  private async commitFirings(
    ids: string[],
    change: (schedule: Schedule, previous: Job | null) => FireTransition | null,
  ): Promise<Array<FireTransition | null>> {
    const trace = traceHeaders();
    const outcomes = await withTransaction(this.client, async (session) => {
      const docs = await this.collection.find({ _id: { $in: ids } }, { session }).toArray();
      const schedules = new Map(docs.map((d) => [d._id, fromScheduleDocument(d)]));
      const previousIds = [...schedules.values()].flatMap((s) =>
        s.lastRuns[0] ? [s.lastRuns[0].jobId] : [],
      );
      const previousDocs = new Map(
        previousIds.length === 0
          ? []
          : (await this.jobs.find({ _id: { $in: previousIds } }, { session }).toArray()).map(
              (d) => [d._id, d],
            ),
      );
      const outcomes: Array<FireTransition | null> = [];
      const inserts: JobDocument[] = [];
      const jobUpdates: Array<{ id: string; update: UpdateFilter<JobDocument> }> = [];
      const messages: OutboxMessage[] = [];
      const replaced: Array<{ before: Schedule; after: Schedule }> = [];
      for (const id of ids) {
        const schedule = schedules.get(id);
        const previousDoc = schedule?.lastRuns[0] && previousDocs.get(schedule.lastRuns[0].jobId);
        const transition = schedule
          ? change(schedule, previousDoc ? fromDocument(previousDoc) : null)
          : null;
        if (!schedule || !transition) {
          outcomes.push(null);
          continue;
        }
        if (transition.previous && previousDoc) {
          const update = updateOf(previousDoc, toDocument(transition.previous.job));
          if (update) jobUpdates.push({ id: previousDoc._id, update });
          messages.push(...messagesOf(transition.previous.events, trace));
        }
        for (const t of transition.jobs) {
          inserts.push(toDocument(t.job));
          messages.push(...messagesOf(t.events, trace));
        }
        const after = { ...transition.schedule, version: schedule.version + 1 };
        replaced.push({ before: schedule, after });
        outcomes.push({ ...transition, schedule: after });
      }
      for (const { id, update } of jobUpdates)
        await this.jobs.updateOne({ _id: id }, update, { session });
      // A tick's job exists already only if its firing committed, which moved the version on:
      // the duplicate key ends this attempt as "done by another replica".
      if (inserts.length > 0) await this.jobs.insertMany(inserts, { session });
      if (replaced.length > 0) {
        const result = await this.collection.bulkWrite(
          replaced.map(({ before, after }) => ({
            replaceOne: {
              filter: { _id: before.id, version: before.version },
              replacement: toScheduleDocument(after),
            },
          })),
          { session, ordered: true },
        );
        // Unmatched: another writer moved a version on; abort, its transaction did that work.
        if (result.matchedCount !== replaced.length) throw new Superseded();
      }
      if (messages.length > 0) await this.outbox.append(session, messages);
      return outcomes;
    });
    if (outcomes.some((o) => o && (o.jobs.length > 0 || o.previous))) this.onCommitted();
    return outcomes;
  }

  async jobStates(ids: string[]): Promise<Map<string, Job['state']>> {
    if (ids.length === 0) return new Map();
    const docs = await this.jobs
      .find({ _id: { $in: ids } }, { projection: { _id: 1, state: 1 } })
      .toArray();
    return new Map(docs.map((d) => [d._id, d.state]));
  }
}
