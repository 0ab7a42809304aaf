import type { BatchOutcome } from '@trellis/platform/batching';
import type { Job, JobState, Transition } from '../../domain/job';

/** Filters and position of a ListJobs page (newest first). */
export interface ListJobsFilter {
  type?: string;
  state?: JobState;
  createdAfter?: Date;
  createdBefore?: Date;
  /** Only the children of this flow parent. */
  parentId?: string;
}

/** The sort key of the last job of a page: jobs strictly older come next. */
export interface ListCursor {
  createdAt: Date;
  id: string;
}

export interface TypeStateCount {
  type: string;
  state: JobState;
  count: number;
}

export interface DuePending {
  type: string;
  count: number;
  oldestRunAt: Date;
}

/** A change of one job, as `update` applies it. */
export interface JobChange {
  id: string;
  change: (job: Job) => Transition;
}

/** A claim: up to `maxJobs` due jobs of `types`, each started by `start`. */
export interface ClaimSpec {
  types: string[];
  maxJobs: number;
  now: Date;
  start: (job: Job) => Transition;
}

/** Where jobs live. Every method that changes a job writes its events in the same transaction. */
export interface JobRepository {
  /**
   * Inserts a new job and its events. When a job with the same idempotency key exists already,
   * inserts nothing and returns that job with `created = false`. With `handOff` (a claim waiting
   * for this job's type), a created job is claimed in the same transaction: it is stored as
   * `handOff.start` left it, its events after the create's, and returned as `claimed`.
   */
  create(
    job: Job,
    events: Transition['events'],
    handOff?: ClaimSpec,
  ): Promise<{ job: Job; created: boolean; claimed?: Job }>;
  /**
   * Inserts a flow: `root` (whose idempotency key counts, as in `create`), its `descendants` and
   * the events of all, in ONE transaction. A stored root with the key: nothing is inserted.
   */
  createFlow(
    root: Job,
    descendants: Job[],
    events: Transition['events'],
  ): Promise<{ job: Job; created: boolean }>;
  findById(id: string): Promise<Job | null>;
  /** The children of the given flow parents, oldest first. */
  listChildren(parentIds: string[]): Promise<Job[]>;
  /**
   * Loads the job, applies `change` (pure; it may throw a domain error, which aborts everything)
   * and saves the result with its events in one transaction; `change` reruns on a write conflict.
   * NotFoundError when the job does not exist. The change carries through the job's flow in the
   * same transaction (domain/flow.ts): a finished child settles with its parent, a parent that
   * ended while waiting cancels its unfinished children (also for `completeAndClaim`).
   */
  update(id: string, change: (job: Job) => Transition): Promise<Job>;
  /**
   * Atomically claims up to `claim.maxJobs` due PENDING jobs of `claim.types` (priority desc,
   * run_at, creation) by applying `claim.start` to each, in one transaction with their events:
   * a multi-job change whose jobs the claim policy (domain/claim-policy.ts) picks from the due ones.
   */
  claim(claim: ClaimSpec): Promise<Job[]>;
  /**
   * Applies each of `changes` as `update` would, each with its own outcome (a change that throws
   * fails only itself), then `claim` (when given) among the jobs left, all in ONE transaction:
   * a worker's "complete these, give me the next ones" (CompleteJobs with claim_next).
   */
  completeAndClaim(
    changes: JobChange[],
    claim: ClaimSpec | null,
  ): Promise<{ changed: Array<BatchOutcome<Job>>; claimed: Job[] }>;
  /** Ids of RUNNING jobs whose lease expired at or before `now`. */
  findExpiredLeases(now: Date, limit: number): Promise<string[]>;
  list(filter: ListJobsFilter, after: ListCursor | null, limit: number): Promise<Job[]>;
  countByTypeAndState(types: string[]): Promise<TypeStateCount[]>;
  duePending(types: string[], now: Date): Promise<DuePending[]>;
}
