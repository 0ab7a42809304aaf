import { abandonClaim, type Job } from '../domain/job';
import type { JobTypeRegistry } from '../domain/job-type';
import type { JobMetrics } from './ports/job-metrics.port';
import type { JobRepository } from './ports/job.repository.port';
import type { Runtime } from './ports/runtime.port';
import type { ClaimNotifier } from './support/claim-notifier';
import { claimSpecOf, validateClaim, type ClaimRequest } from './support/claim-request';
import { claimedWithChildren, type ClaimedJob } from './support/claimed-jobs';

export interface ClaimJobsInput extends ClaimRequest {
  /** How long to wait when nothing is due; capped at 30 s. */
  waitMs: number;
  /** The call's cancellation (client gone or deadline passed). */
  signal?: AbortSignal;
}

export const MAX_CLAIM_WAIT_MS = 30_000;
/** The longest a long-poll goes without looking for jobs another replica made due. */
const MAX_CLAIM_POLL_MS = 4_000;

export interface ClaimJobsDeps {
  jobs: JobRepository;
  types: JobTypeRegistry;
  notifier: ClaimNotifier;
  runtime: Runtime;
  metrics: JobMetrics;
  /** How often a waiting claim re-checks the repository (jobs made due by other replicas). */
  pollIntervalMs: number;
}

/**
 * Claims due jobs for a worker, long-polling up to `waitMs`. The repository commits the claims of
 * this process in batches, and the two transactions it has in flight never take the same job, so
 * concurrent workers do not fight over documents here; claims from other replicas that race for a
 * job conflict in MongoDB and the loser's transaction reruns.
 */
export class ClaimJobs {
  /**
   * Per set of types, since when claims have found nothing. A long-poll for a set quiet that long
   * polls at the cap from its start instead of from `pollIntervalMs` again: an idle worker's next
   * call would otherwise re-run the short polls every 30 s (this process's jobs wake it anyway).
   */
  private readonly quietSince = new Map<string, number>();

  constructor(private readonly deps: ClaimJobsDeps) {}

  async execute(input: ClaimJobsInput): Promise<ClaimedJob[]> {
    const { notifier } = this.deps;
    validateClaim(this.deps.types, input);
    const types = [...new Set(input.types)];
    const deadline = Date.now() + Math.min(input.waitMs, MAX_CLAIM_WAIT_MS);
    // The poll is the fallback for other replicas' jobs (this process's wake the wait): it doubles
    // while nothing is due, so an idle long-poll does not query MongoDB four times a second.
    const key = [...types].sort().join('\n');
    const quietFor = Date.now() - (this.quietSince.get(key) ?? Date.now());
    let pollMs = quietFor >= MAX_CLAIM_POLL_MS ? MAX_CLAIM_POLL_MS : this.deps.pollIntervalMs;
    // While it waits, a create of one of its types may claim its job for it (a hand-off).
    const handOff = (now: Date) => claimSpecOf(input, now);
    for (;;) {
      const since = notifier.version(types);
      const claimed = await this.claimOnce(input);
      if (claimed.length > 0) {
        this.quietSince.delete(key);
        return this.deliver(claimed, input.signal);
      }
      this.markQuiet(key);
      const left = deadline - Date.now();
      if (left <= 0 || input.signal?.aborted || notifier.closed) return [];
      if (notifier.version(types) !== since) continue;
      const handed = await notifier.wait(types, Math.min(left, pollMs), input.signal, handOff);
      if (handed.length > 0) {
        this.quietSince.delete(key);
        for (const job of handed) this.deps.metrics.claimed(job, job.startedAt ?? job.updatedAt);
        return this.deliver(handed, input.signal);
      }
      pollMs = Math.min(pollMs * 2, MAX_CLAIM_POLL_MS);
      if (input.signal?.aborted || notifier.closed) return [];
    }
  }

  private markQuiet(key: string): void {
    if (this.quietSince.has(key)) return;
    // Bounded: type sets come from workers; a flood of distinct sets only restarts the short polls.
    if (this.quietSince.size >= 1_000) this.quietSince.clear();
    this.quietSince.set(key, Date.now());
  }

  /** The claimed jobs for the caller; if it is gone, they go back to PENDING instead. */
  private async deliver(claimed: Job[], signal?: AbortSignal): Promise<ClaimedJob[]> {
    if (!signal?.aborted) return claimedWithChildren(this.deps.jobs, claimed);
    await this.handBack(claimed);
    return [];
  }

  private async claimOnce(input: ClaimJobsInput): Promise<Job[]> {
    const now = this.deps.runtime.now();
    const jobs = await this.deps.jobs.claim(claimSpecOf(input, now));
    for (const job of jobs) this.deps.metrics.claimed(job, now);
    return jobs;
  }

  /** The caller is gone: its claims go back to PENDING at once instead of waiting out the lease. */
  private async handBack(jobs: Job[]): Promise<void> {
    for (const claimed of jobs) {
      const now = this.deps.runtime.now();
      await this.deps.jobs
        .update(claimed.id, (current) =>
          current.state === 'RUNNING' && current.leaseToken === claimed.leaseToken
            ? abandonClaim(current, now)
            : { job: current, events: [] },
        )
        .then((job) => this.deps.notifier.notify(job.type))
        .catch(() => undefined); // the reaper returns it when the lease expires
    }
  }
}
