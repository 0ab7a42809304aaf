import { waitFor } from '@trellis/platform/testing';
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

  /** A repository with nothing due that records when each claim ran. */
  function nothingDue() {
    const claims: number[] = [];
    const repo = {
      async claim() {
        claims.push(performance.now());
        return [];
      },
    } as unknown as JobRepository;
    return { repo, claims };
  }

  it("an idle long-poll's fallback polls space out", async () => {
    const { repo, claims } = nothingDue();
    const notifier = new ClaimNotifier();
    const claim = new ClaimJobs({
      jobs: repo,
      types,
      notifier,
      runtime: systemRuntime,
      metrics: noMetrics,
      pollIntervalMs: 10,
    });
    const polling = claim.execute({
      workerId: 'w',
      types: ['demo.echo'],
      maxJobs: 1,
      waitMs: 30_000,
    });
    await waitFor(() => claims.length >= 8, { what: '8 claims' });
    notifier.close();
    expect(await polling).toEqual([]);
    // Waits of 10, 20, 40 … 640 ms between them: not before 1 s, however slow the machine is.
    expect(claims[7] - claims[0]).toBeGreaterThanOrEqual(1_000);
  });

  it('a pending long-poll returns at once, empty, when the server drains', async () => {
    const { repo, claims } = nothingDue();
    const notifier = new ClaimNotifier();
    // Polling once a minute within a 30 s wait: only the drain can end it within the test.
    const claim = new ClaimJobs({
      jobs: repo,
      types,
      notifier,
      runtime: systemRuntime,
      metrics: noMetrics,
      pollIntervalMs: 60_000,
    });
    const polling = claim.execute({
      workerId: 'w',
      types: ['demo.echo'],
      maxJobs: 1,
      waitMs: 30_000,
    });
    await waitFor(() => claims.length === 1, { what: 'the first claim' });
    notifier.close(); // what the composition root does on the gRPC server's `draining` signal
    expect(await polling).toEqual([]);
    expect(claims).toHaveLength(1);
  });
});
