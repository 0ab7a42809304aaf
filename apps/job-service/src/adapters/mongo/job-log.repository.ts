import type { Collection, Db, MongoClient } from 'mongodb';
import { NotFoundError } from '@trellis/platform/errors';
import { withTransaction } from '@trellis/platform/mongo';
import { emptyJobLog, type JobLog } from '../../domain/job-log';
import type { JobLogRepository } from '../../app/ports/job-log.repository.port';
import { JOBS_COLLECTION, type JobDocument } from './job.repository';

/**
 * A job's log as stored in `job_logs`: one document per job, `_id` = the job's id, so removing a
 * job's documents by id (retention, TTL on the same expiry field) removes its log with it.
 */
export interface JobLogDocument {
  _id: string;
  lines: Array<{ seq: number; message: string; logged_at: Date; attempt: number }>;
  dropped: number;
  bytes: number;
  updated_at: Date;
}

export const JOB_LOGS_COLLECTION = 'job_logs';

function toDocument(log: JobLog): JobLogDocument {
  return {
    _id: log.jobId,
    lines: log.lines.map((l) => ({
      seq: l.seq,
      message: l.message,
      logged_at: l.loggedAt,
      attempt: l.attempt,
    })),
    dropped: log.dropped,
    bytes: log.bytes,
    updated_at: log.updatedAt,
  };
}

function fromDocument(doc: JobLogDocument): JobLog {
  return {
    jobId: doc._id,
    lines: doc.lines.map((l) => ({
      seq: l.seq,
      message: l.message,
      loggedAt: l.logged_at,
      attempt: l.attempt,
    })),
    dropped: doc.dropped,
    bytes: doc.bytes,
    updatedAt: doc.updated_at,
  };
}

export class MongoJobLogRepository implements JobLogRepository {
  private readonly logs: Collection<JobLogDocument>;
  private readonly jobs: Collection<JobDocument>;

  constructor(
    private readonly client: MongoClient,
    db: Db,
  ) {
    this.logs = db.collection<JobLogDocument>(JOB_LOGS_COLLECTION);
    this.jobs = db.collection<JobDocument>(JOBS_COLLECTION);
  }

  /**
   * The job is read in the same transaction as the log is written: an append commits only if the
   * lease it was checked against was current at the transaction's snapshot, and nothing that
   * moves a lease reads the log, so appends and lease changes serialize (the fence holds).
   */
  append(jobId: string, change: Parameters<JobLogRepository['append']>[1]): Promise<JobLog> {
    return withTransaction(this.client, async (session) => {
      const job = await this.jobs.findOne(
        { _id: jobId },
        { session, projection: { type: 1, state: 1, lease_token: 1, attempts: 1 } },
      );
      if (!job) throw new NotFoundError('job', jobId);
      const doc = await this.logs.findOne({ _id: jobId }, { session });
      const next = change(
        {
          id: jobId,
          type: job.type,
          state: job.state,
          leaseToken: job.lease_token,
          attempts: job.attempts,
        },
        doc ? fromDocument(doc) : emptyJobLog(jobId, new Date(0)),
      );
      await this.logs.replaceOne({ _id: jobId }, toDocument(next), { session, upsert: true });
      return next;
    });
  }

  async findByJobId(jobId: string): Promise<JobLog | null> {
    const doc = await this.logs.findOne({ _id: jobId });
    return doc ? fromDocument(doc) : null;
  }
}
