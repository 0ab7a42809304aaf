import type { JobLog, LoggingJob } from '../../domain/job-log';

/** Where job logs live: one record per job, under the job's id. */
export interface JobLogRepository {
  /**
   * Reads the job and its log (empty when none yet) in one transaction, applies `change` (pure;
   * it may throw, e.g. LEASE_LOST, which writes nothing) and saves the log; `change` reruns on a
   * write conflict. NotFoundError when the job does not exist.
   */
  append(
    jobId: string,
    change: (job: LoggingJob & { type: string }, log: JobLog) => JobLog,
  ): Promise<JobLog>;
  /** The job's log, or null when nothing was logged (or the job does not exist). */
  findByJobId(jobId: string): Promise<JobLog | null>;
}
