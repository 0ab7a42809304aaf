import { randomBytes } from 'node:crypto';
import {
  PermissionDeniedError,
  ValidationError,
  type FieldViolation,
} from '@trellis/platform/errors';
import { abandonClaim, startAttempt, type Job } from '../domain/job';
import type { JobTypeRegistry } from '../domain/job-type';
import type { ClaimNotifier } from './claim-notifier';
import type { JobMetrics } from './job-metrics.port';
import type { JobRepository } from './job.repository.port';
import type { Runtime } from './runtime.port';

export interface ClaimJobsInput {
  workerId: string;
  types: string[];
  /** 0 = 1. */
  maxJobs: number;
  /** How long to wait when nothing is due; capped at 30 s. */
  waitMs: number;
  /** The call's cancellation (client gone or deadline passed). */
  signal?: AbortSignal;
  /** The authenticated calling service, when the server checks service tokens. */
  caller?: string;
}

export const MAX_CLAIM_WAIT_MS = 30_000;
/** The longest a long-poll goes without looking for jobs another replica made due. */
const MAX_CLAIM_POLL_MS = 4_000;

/**
 * Claims due jobs for a worker, long-polling up to `waitMs`. The repository commits the claims of
 * this process in batches, one transaction at a time, so concurrent workers never fight over the
 * same documents here; claims from other replicas that race for a job conflict in MongoDB and the
 * loser's transaction reruns.
 */
export class ClaimJobs {
  constructor(
    private readonly repository: JobRepository,
    private readonly types: JobTypeRegistry,
    private readonly notifier: ClaimNotifier,
    private readonly runtime: Runtime,
    private readonly metrics: JobMetrics,
    private readonly pollIntervalMs: number,
  ) {}

  /**
   * Throws what `execute` would refuse `input` with, naming fields under `path` (e.g.
   * `claim_next.`), so a caller can check a claim before writing anything else.
   */
  validate(input: ClaimJobsInput, path = ''): void {
    const violations: FieldViolation[] = [];
    if (input.workerId.length < 1 || input.workerId.length > 128)
      violations.push({ field: `${path}worker_id`, description: 'must be 1-128 characters' });
    if (input.types.length < 1 || input.types.length > 32)
      violations.push({ field: `${path}types`, description: 'must name 1-32 job types' });
    if (input.maxJobs < 0 || input.maxJobs > 100)
      violations.push({ field: `${path}max_jobs`, description: 'must be between 1 and 100' });
    if (input.waitMs < 0)
      violations.push({ field: `${path}wait`, description: 'must not be negative' });
    if (violations.length > 0) throw new ValidationError(violations);
    input.types.forEach((name, i) => {
      const type = this.types.get(name, `${path}types[${i}]`);
      const workers = type.workers ?? [];
      if (input.caller !== undefined && workers.length > 0 && !workers.includes(input.caller)) {
        throw new PermissionDeniedError(`${input.caller} may not work ${name} jobs`);
      }
    });
  }

  async execute(input: ClaimJobsInput): Promise<Array<{ job: Job; leaseToken: string }>> {
    this.validate(input);
    const types = [...new Set(input.types)];
    const maxJobs = input.maxJobs || 1;
    const deadline = Date.now() + Math.min(input.waitMs, MAX_CLAIM_WAIT_MS);
    // The poll is the fallback for other replicas' jobs (this process's wake the wait): it doubles
    // while nothing is due, so an idle long-poll does not query MongoDB four times a second.
    let pollMs = this.pollIntervalMs;
    for (;;) {
      const since = this.notifier.version(types);
      const claimed = await this.claimOnce(input.workerId, types, maxJobs);
      if (claimed.length > 0 && input.signal?.aborted) {
        await this.handBack(claimed.map((c) => c.job));
        return [];
      }
      if (claimed.length > 0) return claimed;
      const left = deadline - Date.now();
      if (left <= 0 || input.signal?.aborted || this.notifier.closed) return [];
      if (this.notifier.version(types) !== since) continue;
      await this.notifier.wait(types, Math.min(left, pollMs), input.signal);
      pollMs = Math.min(pollMs * 2, MAX_CLAIM_POLL_MS);
      if (input.signal?.aborted || this.notifier.closed) return [];
    }
  }

  /** The caller is gone: its claims go back to PENDING at once instead of waiting out the lease. */
  private async handBack(jobs: Job[]): Promise<void> {
    for (const claimed of jobs) {
      const now = this.runtime.now();
      await this.repository
        .update(claimed.id, (current) =>
          current.state === 'RUNNING' && current.leaseToken === claimed.leaseToken
            ? abandonClaim(current, now)
            : { job: current, events: [] },
        )
        .then((job) => this.notifier.notify(job.type))
        .catch(() => undefined); // the reaper returns it when the lease expires
    }
  }

  private async claimOnce(workerId: string, types: string[], maxJobs: number) {
    const now = this.runtime.now();
    const jobs = await this.repository.claim(types, maxJobs, now, (job) =>
      startAttempt(job, workerId, randomBytes(18).toString('base64url'), now),
    );
    for (const job of jobs) this.metrics.claimed(job, now);
    return jobs.map((job) => ({ job, leaseToken: job.leaseToken }));
  }
}
