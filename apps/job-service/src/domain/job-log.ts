import { assertLease, type Job } from './job';

/** One line of a job's log. `seq` counts from 1 over the job's whole life (dropped lines too). */
export interface JobLogLine {
  seq: number;
  message: string;
  loggedAt: Date;
  attempt: number;
}

/**
 * A job's log: its newest lines within the bounds, and how many older ones were dropped. Stored
 * under the job's id, so whatever removes the job (retention) removes its log by the same key.
 */
export interface JobLog {
  jobId: string;
  lines: JobLogLine[];
  /** Lines dropped (the oldest) to stay within the bounds. */
  dropped: number;
  /** UTF-8 bytes of the kept lines' messages. */
  bytes: number;
  updatedAt: Date;
}

export interface JobLogLimits {
  maxLines: number;
  maxBytes: number;
}

/** Longer lines are cut to this many characters (as JobError messages are). */
export const MAX_LOG_LINE_CHARS = 4096;

/** The job a log line is fenced by: only its current lease may write. */
export type LoggingJob = Pick<Job, 'id' | 'state' | 'leaseToken' | 'attempts'>;

export function emptyJobLog(jobId: string, now: Date): JobLog {
  return { jobId, lines: [], dropped: 0, bytes: 0, updatedAt: now };
}

const bytesOf = (message: string) => Buffer.byteLength(message, 'utf8');

/**
 * Appends `lines` under the job's current lease (LEASE_LOST otherwise, changing nothing) and drops
 * the oldest lines beyond `limits`: the newest are kept, as BullMQ's keepLogs does, since the end
 * of a log is what explains how an attempt ended.
 */
export function appendLogLines(
  log: JobLog,
  job: LoggingJob,
  leaseToken: string,
  lines: Array<{ message: string; loggedAt?: Date }>,
  limits: JobLogLimits,
  now: Date,
): JobLog {
  assertLease(job, leaseToken);
  const kept = [...log.lines];
  let bytes = log.bytes;
  // Every line ever appended is either dropped (the oldest) or kept: the last number is their sum.
  let seq = log.dropped + kept.length;
  for (const line of lines) {
    const message = line.message.slice(0, MAX_LOG_LINE_CHARS);
    // A worker's clock ahead of ours would put lines in the future.
    const loggedAt = line.loggedAt && line.loggedAt <= now ? line.loggedAt : now;
    kept.push({ seq: ++seq, message, loggedAt, attempt: job.attempts });
    bytes += bytesOf(message);
  }
  let drop = 0;
  while (drop < kept.length && (kept.length - drop > limits.maxLines || bytes > limits.maxBytes))
    bytes -= bytesOf(kept[drop++].message);
  return {
    jobId: log.jobId,
    lines: kept.slice(drop),
    dropped: log.dropped + drop,
    bytes,
    updatedAt: now,
  };
}
