import { ValidationError } from '@trellis/platform/errors';
import { waitFor } from '@trellis/platform/testing';
import { newJob, startAttempt, type Job, type Transition } from '../domain/job';
import { DEFAULT_JOB_TYPES, JobTypeRegistry } from '../domain/job-type';
import { ClaimJobs } from './claim-jobs.command';
import { CreateJob } from './create-job.command';
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

  /** ClaimJobs on `jobs` with the default types, the system clock and no metrics. */
  const claimJobsOn = (jobs: JobRepository, notifier: ClaimNotifier, pollIntervalMs: number) =>
    new ClaimJobs({
      jobs,
      types,
      notifier,
      runtime: systemRuntime,
      metrics: noMetrics,
      pollIntervalMs,
    });

  it('returns the claimed job with its lease token', async () => {
    const memory = memoryRepository(job('a'));
    const claim = claimJobsOn(memory.repo, new ClaimNotifier(), 50);
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
    const claim = claimJobsOn(memory.repo, new ClaimNotifier(), 50);
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

  it('refuses a negative wait, naming the field, before claiming anything', async () => {
    const { repo, claims } = nothingDue();
    const claim = claimJobsOn(repo, new ClaimNotifier(), 10);
    const refused = await claim
      .execute({ workerId: 'w', types: ['demo.echo'], maxJobs: 1, waitMs: -1_000 })
      .then(
        () => undefined,
        (err: unknown) => err,
      );
    expect(refused).toBeInstanceOf(ValidationError);
    expect((refused as ValidationError).fieldViolations.map((v) => v.field)).toEqual(['wait']);
    expect(claims).toEqual([]);
  });

  it("an idle long-poll's fallback polls space out", async () => {
    const { repo, claims } = nothingDue();
    const notifier = new ClaimNotifier();
    const claim = claimJobsOn(repo, notifier, 10);
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

  it('a long-poll for types that have been quiet for a while polls at the 4 s cap from its start', async () => {
    jest.useFakeTimers();
    try {
      const { repo, claims } = nothingDue();
      const claim = claimJobsOn(repo, new ClaimNotifier(), 250);
      const longPoll = async () => {
        const before = claims.length;
        const polling = claim.execute({
          workerId: 'w',
          types: ['demo.echo'],
          maxJobs: 1,
          waitMs: 10_000,
        });
        await jest.advanceTimersByTimeAsync(10_000);
        expect(await polling).toEqual([]);
        return claims.length - before;
      };
      // First call: at once, then 250, 500, 1,000, 2,000 and 4,000 ms apart, and at the end.
      expect(await longPoll()).toBe(7);
      // Quiet for 10 s now: at once, then 4 s apart, and at the end.
      expect(await longPoll()).toBe(4);
    } finally {
      jest.useRealTimers();
    }
  });

  it('a pending long-poll returns at once, empty, when the server drains', async () => {
    const { repo, claims } = nothingDue();
    const notifier = new ClaimNotifier();
    // Polling once a minute within a 30 s wait: only the drain can end it within the test.
    const claim = claimJobsOn(repo, notifier, 60_000);
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

  /**
   * A repository where nothing is due, whose create claims the new job when handed a waiting
   * claim (as the Mongo one does in the create's transaction); `replay` makes creates find a
   * stored job instead (a reused idempotency key).
   */
  function handOffRepository(replay = false) {
    const claims: number[] = [];
    let stored: Job | undefined;
    const repo = {
      async claim() {
        claims.push(performance.now());
        return [];
      },
      async create(job: Job, _events: unknown, handOff?: ClaimSpec) {
        if (replay) return { job: stored ?? job, created: false };
        stored = handOff ? handOff.start(job).job : job;
        return { job, created: true, ...(handOff && { claimed: stored }) };
      },
      async update(_id: string, change: (j: Job) => Transition) {
        stored = change(stored!).job;
        return stored;
      },
    } as unknown as JobRepository;
    return { repo, claims, get: () => stored };
  }

  function handOffSetup(memory: ReturnType<typeof handOffRepository>) {
    const notifier = new ClaimNotifier();
    const deps = { jobs: memory.repo, types, notifier, runtime: systemRuntime };
    // Polling once a minute: within the test only a create can end the long-poll.
    const claim = new ClaimJobs({ ...deps, metrics: noMetrics, pollIntervalMs: 60_000 });
    const create = () =>
      new CreateJob(deps).execute({
        type: 'demo.echo',
        payload: { message: 'x' },
        priority: 0,
        maxAttempts: 0,
        idempotencyKey: '',
      });
    return { claim, create, notifier };
  }

  it('a create hands its job to a waiting long-poll: claimed in its own call, not claimed again', async () => {
    const memory = handOffRepository();
    const { claim, create } = handOffSetup(memory);
    const polling = claim.execute({
      workerId: 'w',
      types: ['demo.echo'],
      maxJobs: 5,
      waitMs: 30_000,
    });
    await waitFor(() => memory.claims.length === 1, { what: 'the first claim' });
    const { job } = await create();
    const [claimed] = await polling;
    expect(claimed.job).toMatchObject({ id: job.id, state: 'RUNNING', attempts: 1, workerId: 'w' });
    expect(claimed.leaseToken).toBe(memory.get()?.leaseToken);
    expect(memory.claims).toHaveLength(1);
  });

  it('a job handed to a long-poll whose caller went away goes back to PENDING', async () => {
    const memory = handOffRepository();
    const { claim, create } = handOffSetup(memory);
    const caller = new AbortController();
    const polling = claim.execute({
      workerId: 'w',
      types: ['demo.echo'],
      maxJobs: 1,
      waitMs: 30_000,
      signal: caller.signal,
    });
    await waitFor(() => memory.claims.length === 1, { what: 'the first claim' });
    const creating = create();
    caller.abort(); // while the create commits: the wait was taken, so it ends with the job
    await creating;
    expect(await polling).toEqual([]);
    expect(memory.get()).toMatchObject({ state: 'PENDING', leaseToken: '' });
  });

  it('a create that claims nothing for a waiting long-poll (a replayed key) lets it claim again', async () => {
    const memory = handOffRepository(true);
    const { claim, create, notifier } = handOffSetup(memory);
    const polling = claim.execute({
      workerId: 'w',
      types: ['demo.echo'],
      maxJobs: 1,
      waitMs: 30_000,
    });
    await waitFor(() => memory.claims.length === 1, { what: 'the first claim' });
    await create();
    await waitFor(() => memory.claims.length === 2, { what: 'the claim after the create' });
    notifier.close();
    expect(await polling).toEqual([]);
  });
});
