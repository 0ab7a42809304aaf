import { randomUUID } from 'node:crypto';
import { ValidationError } from '@trellis/platform/errors';
import { newJob, startAttempt, type Job } from '../domain/job';
import { DEFAULT_JOB_TYPES, JobTypeRegistry } from '../domain/job-type';
import { CompleteAndClaimJobs } from './complete-and-claim-jobs.command';
import { noMetrics } from './ports/job-metrics.port';
import type { ClaimSpec, JobChange, JobRepository } from './ports/job.repository.port';
import { systemRuntime } from './ports/runtime.port';

function job(state: 'PENDING' | 'RUNNING'): Job {
  const now = new Date();
  const pending = newJob(
    {
      id: randomUUID(),
      type: 'demo.echo',
      payload: { message: 'x' },
      priority: 0,
      runAt: now,
      maxAttempts: 3,
      backoff: DEFAULT_JOB_TYPES[1].defaultBackoff,
      leaseDurationMs: 30_000,
      idempotencyKey: '',
      requestHash: '',
    },
    now,
  );
  return state === 'RUNNING' ? startAttempt(pending, 'w', 'token', now).job : pending;
}

/** Records the calls; completes the one running job and claims the one pending job. */
function recordingRepository(running: Job, pending: Job) {
  const calls: Array<{ changes: JobChange[]; claim: ClaimSpec | null }> = [];
  const repo = {
    async completeAndClaim(changes: JobChange[], claim: ClaimSpec | null) {
      calls.push({ changes, claim });
      return {
        changed: changes.map(({ change }) => ({ value: change(running).job })),
        claimed: claim ? [claim.start(pending).job] : [],
      };
    },
  } as unknown as JobRepository;
  return { repo, calls };
}

describe('CompleteAndClaimJobs', () => {
  const types = new JobTypeRegistry(DEFAULT_JOB_TYPES);
  const deps = (jobs: JobRepository) => ({
    jobs,
    types,
    runtime: systemRuntime,
    metrics: noMetrics,
  });

  it('completes and claims in one repository call', async () => {
    const [running, pending] = [job('RUNNING'), job('PENDING')];
    const { repo, calls } = recordingRepository(running, pending);
    const result = await new CompleteAndClaimJobs(deps(repo)).execute({
      completions: [{ jobId: running.id, leaseToken: 'token' }],
      claimNext: { workerId: 'w', types: ['demo.echo'], maxJobs: 0 },
    });
    expect(calls).toHaveLength(1);
    expect(calls[0].claim).toMatchObject({ types: ['demo.echo'], maxJobs: 1 });
    expect(result.outcomes).toEqual([{ value: expect.objectContaining({ state: 'SUCCEEDED' }) }]);
    expect(result.claimed.map((c) => [c.job.id, c.job.state, c.leaseToken])).toEqual([
      [pending.id, 'RUNNING', result.claimed[0].job.leaseToken],
    ]);
  });

  it('refuses a bad claim_next, naming it, before anything is written', async () => {
    const { repo, calls } = recordingRepository(job('RUNNING'), job('PENDING'));
    const refused = new CompleteAndClaimJobs(deps(repo)).execute({
      completions: [{ jobId: randomUUID(), leaseToken: 'token' }],
      claimNext: { workerId: '', types: ['demo.echo'], maxJobs: 1 },
    });
    await expect(refused).rejects.toBeInstanceOf(ValidationError);
    await expect(refused).rejects.toThrow('claim_next.worker_id: must be 1-128 characters');
    expect(calls).toEqual([]);
  });
});
