import type { BatchOutcome } from '@trellis/platform/batching';
import type { Job } from '../domain/job';
import { runMsOf } from './support/attempt-outcome';
import { claimSpecOf, validateClaim, type ClaimRequest } from './support/claim-request';
import { claimedWithChildren, type ClaimedJob } from './support/claimed-jobs';
import {
  completionOf,
  validateCompletions,
  type CompleteJobInput,
  type CompletionDeps,
} from './support/completion';

export interface CompleteAndClaimJobsInput {
  completions: CompleteJobInput[];
  /** The worker's next claim (`claim_next`); it never waits. */
  claimNext?: ClaimRequest;
}

export interface CompleteAndClaimJobsResult {
  /** One per completion, in order: one entry's LEASE_LOST does not stop the others. */
  outcomes: Array<BatchOutcome<Job>>;
  claimed: ClaimedJob[];
}

export type CompleteAndClaimJobsDeps = CompletionDeps;

/**
 * CompleteJobs: completes several jobs, each on its own, and (with `claimNext`) claims the
 * worker's next jobs, in one repository call and so one transaction: the claim leaves out the
 * jobs just completed. A malformed list or claim fails the call as a whole before anything is
 * written.
 */
export class CompleteAndClaimJobs {
  constructor(private readonly deps: CompleteAndClaimJobsDeps) {}

  async execute(input: CompleteAndClaimJobsInput): Promise<CompleteAndClaimJobsResult> {
    validateCompletions(input.completions);
    if (input.claimNext) validateClaim(this.deps.types, input.claimNext, 'claim_next.');
    const now = this.deps.runtime.now();
    const { changed, claimed } = await this.deps.jobs.completeAndClaim(
      input.completions.map((completion) => ({
        id: completion.jobId,
        change: completionOf(this.deps.types, completion, now),
      })),
      input.claimNext ? claimSpecOf(input.claimNext, now) : null,
    );
    for (const outcome of changed)
      if ('value' in outcome)
        this.deps.metrics.attemptEnded(outcome.value, 'succeeded', runMsOf(outcome.value, now));
    for (const job of claimed) this.deps.metrics.claimed(job, now);
    return {
      outcomes: changed,
      claimed: await claimedWithChildren(this.deps.jobs, claimed),
    };
  }
}
