import { newJob, startAttempt, type Job, type Transition } from '../domain/job';
import { DEFAULT_JOB_TYPES, JobTypeRegistry } from '../domain/job-type';
import { ClaimJobs } from './claim-jobs.command';
import { noMetrics } from './ports/job-metrics.port';
import type { ClaimSpec, JobRepository } from './ports/job.repository.port';
import { systemRuntime } from './ports/runtime.port';
import { ClaimNotifier } from './support/claim-notifier';

function job(id: string): Job {
  return newJob(
    {
      id,
      type: 'demo.echo',
      payload: { message: 'x' },
      priority: 0,
      runAt: new Date(),
      maxAttempts: 3,
      backoff: DEFAULT_JOB_TYPES[1].defaultBackoff,
      leaseDurationMs: 30_000,
      idempotencyKey: '',
      requestHash: '',
    },
    new Date(),
  );
}

/** Just enough of a repository: one stored job, claim and update in memory. */
function memoryRepository(stored: Job) {
  let current = stored;
  const repo = {
    async claim({ start }: ClaimSpec) {
      if (current.state !== 'PENDING') return [];
      current = start(current).job;
      return [current];
    },
    async update(_id: string, change: (j: Job) => Transition) {
      current = change(current).job;
      return current;
    },
  } as unknown as JobRepository;
  return { repo, get: () => current };
}

describe('ClaimJobs', () => {
  const types = new JobTypeRegistry(DEFAULT_JOB_TYPES);

  it('returns the claimed job with its lease token', async () => {
    const memory = memoryRepository(job('a'));
    const claim = new ClaimJobs({
      jobs: memory.repo,
      types,
      notifier: new ClaimNotifier(),
      runtime: systemRuntime,
      metrics: noMetrics,
      pollIntervalMs: 50,
    });
    const [claimed] = await claim.execute({
      workerId: 'w',
      types: ['demo.echo'],
      maxJobs: 1,
      waitMs: 0,
    });
    expect(claimed.job.state).toBe('RUNNING');
    expect(claimed.leaseToken).toBe(memory.get().leaseToken);
  });

  it('hands a claim back when the caller went away while it committed', async () => {
    const memory = memoryRepository(job('b'));
    const caller = new AbortController();
    const original = memory.repo.claim.bind(memory.repo);
    memory.repo.claim = async (spec) => {
      const jobs = await original(spec);
      caller.abort(); // the client cancels as the claim commits
      return jobs;
    };
    const claim = new ClaimJobs({
      jobs: memory.repo,
      types,
      notifier: new ClaimNotifier(),
      runtime: systemRuntime,
      metrics: noMetrics,
      pollIntervalMs: 50,
    });
    const result = await claim.execute({
      workerId: 'w',
      types: ['demo.echo'],
      maxJobs: 1,
      waitMs: 0,
      signal: caller.signal,
    });
    expect(result).toEqual([]);
    expect(memory.get()).toMatchObject({ state: 'PENDING', attempts: 0, leaseToken: '' });
    expect(startAttempt(memory.get(), 'w2', 't2', new Date()).job.attempts).toBe(1);
  });
});
