import type { Job } from '../../domain/job';
import type { ClaimSpec } from '../ports/job.repository.port';

/** A waiting claim that a create serves directly (see `takeWaiter`). */
export interface WaitingClaim {
  /** The claim of the job at `now`, for the create's transaction. */
  claim(now: Date): ClaimSpec;
  /** Ends the wait with the jobs the create claimed for it (none: it claims again itself). */
  deliver(jobs: Job[]): void;
}

interface Waiter {
  types: Set<string>;
  wake(): void;
  claim?: (now: Date) => ClaimSpec;
  deliver(jobs: Job[]): void;
  taken: boolean;
}

/**
 * Wakes long-polling ClaimJobs calls in this process when a job of their types may have become due
 * (created, retried, requeued). Other replicas' changes are found by the waiters' poll fallback.
 * A create may instead hand its new job to a waiting claim (`takeWaiter`).
 */
export class ClaimNotifier {
  private readonly waiters = new Set<Waiter>();
  private readonly timers = new Set<NodeJS.Timeout>();
  private readonly versions = new Map<string, number>();
  private closedFlag = false;

  /** Set by `close()`: the service is shutting down and long-polls should return at once. */
  get closed(): boolean {
    return this.closedFlag;
  }

  /** Changes whenever a job of one of `types` became due here; a claimer compares it across its claim. */
  version(types: string[]): number {
    let sum = 0;
    for (const type of types) sum += this.versions.get(type) ?? 0;
    return sum;
  }

  /** A job of `type` is due at `runAt` (now when omitted or past). */
  notify(type: string, runAt?: Date): void {
    const delay = runAt ? runAt.getTime() - Date.now() : 0;
    if (delay > 0) {
      if (delay > 60_000) return; // the poll fallback finds it
      const timer = setTimeout(() => {
        this.timers.delete(timer);
        this.notify(type);
      }, delay + 1);
      timer.unref();
      this.timers.add(timer);
      return;
    }
    this.versions.set(type, (this.versions.get(type) ?? 0) + 1);
    for (const waiter of this.waiters) if (waiter.types.has(type)) waiter.wake();
  }

  /**
   * Resolves with no jobs on a matching notify, after `timeoutMs`, or when `signal` aborts; or,
   * when it can `claim` and a create took it (`takeWaiter`), with the jobs that create claimed.
   */
  wait(
    types: string[],
    timeoutMs: number,
    signal?: AbortSignal,
    claim?: (now: Date) => ClaimSpec,
  ): Promise<Job[]> {
    return new Promise((resolve) => {
      if (signal?.aborted || timeoutMs <= 0 || this.closedFlag) return resolve([]);
      const finish = (jobs: Job[]) => {
        clearTimeout(timer);
        this.waiters.delete(waiter);
        signal?.removeEventListener('abort', wake);
        resolve(jobs);
      };
      // Once a create took it, only that create ends it: a job claimed for it must reach it.
      const wake = () => {
        if (!waiter.taken) finish([]);
      };
      const waiter: Waiter = { types: new Set(types), wake, claim, deliver: finish, taken: false };
      const timer = setTimeout(wake, timeoutMs);
      signal?.addEventListener('abort', wake);
      this.waiters.add(waiter);
    });
  }

  /**
   * A waiting claim of `type` for a create to serve in its own transaction, taken out of the
   * waiters so nothing else ends it; the create must `deliver` to it, jobs or none.
   */
  takeWaiter(type: string): WaitingClaim | undefined {
    if (this.closedFlag) return undefined;
    for (const waiter of this.waiters) {
      if (!waiter.claim || !waiter.types.has(type)) continue;
      waiter.taken = true;
      this.waiters.delete(waiter);
      return { claim: waiter.claim, deliver: waiter.deliver };
    }
    return undefined;
  }

  /** Ends every wait now and every later one at once (shutdown: long-polls return empty). */
  close(): void {
    this.closedFlag = true;
    for (const timer of this.timers) clearTimeout(timer);
    this.timers.clear();
    for (const waiter of this.waiters) waiter.wake();
  }
}
