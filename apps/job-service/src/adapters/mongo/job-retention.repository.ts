import type { Collection, Db, Filter, MongoClient } from 'mongodb';
import { withTransaction } from '@trellis/platform/mongo';
import { mayRemove } from '../../domain/retention';
import type {
  JobRetentionRepository,
  RetentionCut,
} from '../../app/ports/job-retention.repository.port';
import { JOB_LOGS_COLLECTION, type JobLogDocument } from './job-log.repository';
import { JOBS_COLLECTION, type JobDocument } from './job.repository';

/** Jobs one removal transaction deletes at most. */
const MAX_PER_TRANSACTION = 500;

type Candidate = Pick<JobDocument, '_id' | 'finished_at' | 'parent_id'>;

/** Jobs after `last` in retention order (finished_at, _id). */
function after(last: Candidate): Filter<JobDocument> {
  return {
    $or: [
      { finished_at: { $gt: last.finished_at } },
      { finished_at: last.finished_at, _id: { $gt: last._id } },
    ],
  };
}

/**
 * Retention in MongoDB: a job and its `job_logs` document (same `_id`) are deleted in one
 * transaction, after the job's parent was read in it. Chosen over a TTL index on an expiry field:
 * a TTL monitor deletes each collection on its own (a log could outlive its job), cannot look at
 * a parent's state when it deletes, cannot apply a count limit, and an expiry written when the job
 * ends would not follow a later change of its type's retention.
 */
export class MongoJobRetentionRepository implements JobRetentionRepository {
  private readonly jobs: Collection<JobDocument>;
  private readonly logs: Collection<JobLogDocument>;

  constructor(
    private readonly client: MongoClient,
    db: Db,
  ) {
    this.jobs = db.collection<JobDocument>(JOBS_COLLECTION);
    this.logs = db.collection<JobLogDocument>(JOB_LOGS_COLLECTION);
  }

  async ensureIndexes(): Promise<void> {
    await this.jobs.createIndex(
      { type: 1, state: 1, finished_at: 1, _id: 1 },
      { name: 'retention_order' },
    );
  }

  async removeFinished(cut: RetentionCut, limit: number): Promise<number> {
    const scope: Filter<JobDocument> = { type: cut.type, state: cut.state };
    // Both rules select a prefix of the jobs oldest first: the longer prefix is what goes.
    let bound: Filter<JobDocument> = { finished_at: { $lte: cut.finishedAtOrBefore } };
    const [beyond] = await this.jobs
      .find(scope, {
        sort: { finished_at: -1, _id: -1 },
        skip: cut.keepNewest,
        limit: 1,
        projection: { _id: 1, finished_at: 1 },
      })
      .toArray();
    if (beyond?.finished_at && beyond.finished_at > cut.finishedAtOrBefore)
      bound = {
        $or: [
          { finished_at: { $lt: beyond.finished_at } },
          { finished_at: beyond.finished_at, _id: { $lte: beyond._id } },
        ],
      };
    let removed = 0;
    let last: Candidate | undefined;
    for (;;) {
      const wanted = Math.min(limit - removed, MAX_PER_TRANSACTION);
      if (wanted <= 0) break;
      const page = await this.jobs
        .find(
          { ...scope, $and: [bound, ...(last ? [after(last)] : [])] },
          {
            sort: { finished_at: 1, _id: 1 },
            limit: wanted,
            projection: { _id: 1, finished_at: 1, parent_id: 1 },
          },
        )
        .toArray();
      if (page.length === 0) break;
      removed += await this.removeBatch(cut, page);
      // A page with jobs kept for their parents: the scan goes on past them.
      if (page.length < wanted) break;
      last = page[page.length - 1];
    }
    return removed;
  }

  /**
   * Deletes the page's jobs that are still finished as read (a RetryJob meanwhile made one PENDING
   * again) and whose parent is gone or terminal, and their logs; the reads are in the transaction,
   * so a job changed concurrently is a write conflict and the transaction reruns.
   */
  private removeBatch(cut: RetentionCut, page: Candidate[]): Promise<number> {
    const latest = new Date(Math.max(...page.map((c) => c.finished_at?.getTime() ?? 0)));
    return withTransaction(this.client, async (session) => {
      const docs = await this.jobs
        .find(
          {
            _id: { $in: page.map((c) => c._id) },
            type: cut.type,
            state: cut.state,
            finished_at: { $lte: latest },
          },
          { session, projection: { _id: 1, parent_id: 1 } },
        )
        .toArray();
      const parentIds = [...new Set(docs.flatMap((d) => (d.parent_id ? [d.parent_id] : [])))];
      const parents =
        parentIds.length === 0
          ? []
          : await this.jobs
              .find({ _id: { $in: parentIds } }, { session, projection: { _id: 1, state: 1 } })
              .toArray();
      const parentState = new Map(parents.map((p) => [p._id, p.state]));
      const ids = docs
        .filter((d) => mayRemove(d.parent_id ? (parentState.get(d.parent_id) ?? null) : null))
        .map((d) => d._id);
      if (ids.length === 0) return 0;
      await this.jobs.deleteMany({ _id: { $in: ids } }, { session });
      await this.logs.deleteMany({ _id: { $in: ids } }, { session });
      return ids.length;
    });
  }
}
