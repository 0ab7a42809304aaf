import { randomUUID } from 'node:crypto';
import { trace } from '@opentelemetry/api';
import { type CommandFailedEvent, MongoClient } from 'mongodb';
import { startMongoDevServer, type MongoDevServer } from '@trellis/devstack/mongo';
import { eventsOf, isDuplicateKeyError, Outbox } from '@trellis/platform/mongo';
import { waitFor } from '@trellis/platform/testing';
import { startTelemetry, type Telemetry } from '@trellis/platform/telemetry';
import {
  abandonClaim,
  complete,
  heartbeat,
  newJob,
  type Job,
  startAttempt,
  type Transition,
} from '../src/domain/job';
import { MongoJobRepository } from '../src/adapters/mongo/job.repository';
import { awaitChildren, childOf } from '../src/domain/flow';
import { presentedWireVersion } from './mongo-version';

// The repository group-commits calls made in the same event-loop turn; these tests make them so.
let server: MongoDevServer | undefined;
let client: MongoClient;
let repository: MongoJobRepository;
let outbox: Outbox;
let telemetry: Telemetry;
/** The command that carries a transaction's job writes: bulkWrite on 8.0+, else update/insert. */
let jobWriteCommand: (legacy: 'update' | 'insert') => string;
/** Names of the commands `client` sent. */
const sent: string[] = [];
const repositoryDb = `job_repository_${randomUUID().slice(0, 8)}`;

beforeAll(async () => {
  telemetry = startTelemetry({ serviceName: 'job-repository-test' });
  // Test commands on: a test injects a WriteConflict with mongod's failCommand fail point. The
  // devstack presents MongoDB 8.0 here and 7.0 under job.repository.mongo70.test.ts.
  server = process.env.MONGODB_URI
    ? undefined
    : await startMongoDevServer({
        port: 0,
        enableTestCommands: true,
        maxWireVersion: presentedWireVersion(),
      });
  client = new MongoClient(process.env.MONGODB_URI ?? server!.uri, { monitorCommands: true });
  client.on('commandStarted', (event) => sent.push(event.commandName));
  const db = client.db(repositoryDb);
  outbox = new Outbox(db);
  repository = new MongoJobRepository(client, db, outbox);
  await repository.ensureIndexes();
  const { maxWireVersion } = await client.db('admin').command({ hello: 1 });
  jobWriteCommand = (legacy) => (Number(maxWireVersion) >= 25 ? 'bulkWrite' : legacy);
});

afterAll(async () => {
  await client.close();
  await server?.stop();
  await telemetry.shutdown();
});

function pendingJob(overrides: Partial<Job> = {}): Job {
  const now = new Date();
  return {
    ...newJob(
      {
        id: randomUUID(),
        type: 'repo.test',
        payload: {},
        priority: 0,
        runAt: now,
        maxAttempts: 3,
        backoff: { initialDelayMs: 100, maxDelayMs: 1000, multiplier: 2, jitter: 0 },
        leaseDurationMs: 30_000,
        idempotencyKey: '',
        requestHash: 'h',
      },
      now,
    ),
    ...overrides,
  };
}

/** A claim as the tests below make them. */
const claim = (types: string[], maxJobs: number, now: Date, start: (job: Job) => Transition) =>
  repository.claim({ types, maxJobs, now, start });
const created = (job: Job): Transition['events'] => [{ type: 'JobCreated', job }];
/** The outbox's events of one job, in order (a group commit stores its events in one document). */
const eventsOfJob = async (jobId: string) =>
  (await outbox.groups.find({}).sort({ _id: 1 }).toArray())
    .flatMap(eventsOf)
    .filter((e) => e.aggregate_id === jobId);
const eventTypes = async (jobId: string) => (await eventsOfJob(jobId)).map((e) => e.event_type);

describe('MongoJobRepository group commit', () => {
  it('creates of one turn: one job per idempotency key, one JobCreated each', async () => {
    const key = `key-${randomUUID()}`;
    const jobs = [
      pendingJob({ idempotencyKey: key }),
      pendingJob({ idempotencyKey: key }),
      pendingJob(),
    ];
    const results = await Promise.all(jobs.map((job) => repository.create(job, created(job))));
    expect(results.map((r) => r.created)).toEqual([true, false, true]);
    expect(results[1].job.id).toBe(jobs[0].id);
    expect(await repository.findById(jobs[1].id)).toBeNull();
    expect(await eventTypes(jobs[0].id)).toEqual(['trellis.job.v1.JobCreated']);
    // A later batch finds the stored key.
    const again = pendingJob({ idempotencyKey: key });
    expect(await repository.create(again, created(again))).toEqual({
      job: expect.objectContaining({ id: jobs[0].id }),
      created: false,
    });
  });

  it("each call's events carry its own trace context, though they share a transaction", async () => {
    const tracer = trace.getTracer('test');
    const jobs = [pendingJob(), pendingJob()];
    const traceIds: string[] = [];
    await Promise.all(
      jobs.map((job) =>
        tracer.startActiveSpan('CreateJob', async (span) => {
          traceIds.push(span.spanContext().traceId);
          await repository.create(job, created(job));
          span.end();
        }),
      ),
    );
    const [[first], [second]] = await Promise.all(jobs.map((job) => eventsOfJob(job.id)));
    expect(first?.headers.traceparent).toContain(traceIds[0]);
    expect(second?.headers.traceparent).toContain(traceIds[1]);
  });

  it('a transaction sends its job writes and its events together where the server has bulkWrite', async () => {
    const together = jobWriteCommand('insert') === 'bulkWrite';
    // The devstack presents 8.0, or 7.0 under job.repository.mongo70.test.ts.
    if (server) expect(together).toBe(presentedWireVersion() === undefined);
    const job = pendingJob({ type: `repo.commands.${randomUUID().slice(0, 8)}` });
    sent.length = 0;
    await repository.create(job, created(job));
    expect(sent).toEqual(
      together ? ['bulkWrite', 'commitTransaction'] : ['insert', 'insert', 'commitTransaction'],
    );
    const now = new Date();
    await claim([job.type], 1, now, (current) => startAttempt(current, 'w', 'lease', now));
    sent.length = 0;
    await repository.update(job.id, (current) => complete(current, 'lease', {}, new Date()));
    expect(sent).toEqual(
      together ? ['bulkWrite', 'commitTransaction'] : ['update', 'insert', 'commitTransaction'],
    );
    expect(await eventTypes(job.id)).toEqual([
      'trellis.job.v1.JobCreated',
      'trellis.job.v1.JobStarted',
      'trellis.job.v1.JobSucceeded',
    ]);
  });

  it('a duplicate key the key lookup cannot see fails that create alone; its batch is created', async () => {
    const stored = pendingJob();
    await repository.create(stored, created(stored));
    const clash = pendingJob({ id: stored.id });
    const fine = pendingJob();
    const [clashed, made] = await Promise.allSettled([
      repository.create(clash, created(clash)),
      repository.create(fine, created(fine)),
    ]);
    expect(clashed.status).toBe('rejected');
    expect(isDuplicateKeyError((clashed as PromiseRejectedResult).reason)).toBe(true);
    expect(made).toMatchObject({ status: 'fulfilled', value: { created: true } });
    expect((await repository.findById(fine.id))?.state).toBe('PENDING');
    expect(await eventTypes(stored.id)).toEqual(['trellis.job.v1.JobCreated']);
    expect(await eventTypes(fine.id)).toEqual(['trellis.job.v1.JobCreated']);
  });

  it('two replicas creating under one key at once: one job, found by both', async () => {
    const other = new MongoJobRepository(client, client.db(repositoryDb), outbox);
    const key = `key-${randomUUID()}`;
    const jobs = [pendingJob({ idempotencyKey: key }), pendingJob({ idempotencyKey: key })];
    const results = await Promise.all([
      repository.create(jobs[0], created(jobs[0])),
      other.create(jobs[1], created(jobs[1])),
    ]);
    expect(results.map((r) => r.created).sort()).toEqual([false, true]);
    expect(results[0].job.id).toBe(results[1].job.id);
    expect(await eventTypes(results[0].job.id)).toEqual(['trellis.job.v1.JobCreated']);
  });

  it('updates of one turn: a failing change fails alone; changes of one job chain in order', async () => {
    const [a, b] = [pendingJob(), pendingJob()];
    await Promise.all([a, b].map((job) => repository.create(job, created(job))));
    const now = new Date();
    const [ra, rb] = await Promise.all([
      repository.update(a.id, (job) => startAttempt(job, 'w', 'token-a', now)),
      repository.update(b.id, (job) => startAttempt(job, 'w', 'token-b', now)),
    ]);
    expect([ra.state, rb.state]).toEqual(['RUNNING', 'RUNNING']);

    const outcomes = await Promise.allSettled([
      repository.update(a.id, (job) => ({
        job: heartbeat(job, 'token-a', { percent: 50, message: 'half', counters: {} }, null, now),
        events: [],
      })),
      repository.update(a.id, (job) => complete(job, 'token-a', { ok: true }, now)),
      repository.update(b.id, (job) => complete(job, 'forged', {}, now)),
      repository.update('no-such-job', (job) => complete(job, 'x', {}, now)),
    ]);
    expect(outcomes.map((o) => o.status)).toEqual([
      'fulfilled',
      'fulfilled',
      'rejected',
      'rejected',
    ]);
    const doneA = await repository.findById(a.id);
    expect(doneA?.state).toBe('SUCCEEDED');
    expect(doneA?.progress?.message).toBe('half'); // the completion saw the heartbeat
    expect((await repository.findById(b.id))?.state).toBe('RUNNING');
    expect(await eventTypes(a.id)).toEqual([
      'trellis.job.v1.JobCreated',
      'trellis.job.v1.JobStarted',
      'trellis.job.v1.JobSucceeded',
    ]);
    expect(await eventTypes(b.id)).toEqual([
      'trellis.job.v1.JobCreated',
      'trellis.job.v1.JobStarted',
    ]);
  });

  it('claims of one turn get disjoint jobs, in claim order, each up to its max', async () => {
    const type = `claim.${randomUUID().slice(0, 8)}`;
    const base = Date.now() - 1_000;
    const jobs = [5, 4, 3, 2, 1].map((priority, i) =>
      pendingJob({ type, priority, runAt: new Date(base), createdAt: new Date(base + i) }),
    );
    await Promise.all(jobs.map((job) => repository.create(job, created(job))));
    const now = new Date();
    const claims = await Promise.all(
      ['w1', 'w2', 'w3'].map((worker) =>
        claim([type], 2, now, (job) => startAttempt(job, worker, `t-${worker}`, now)),
      ),
    );
    expect(claims.map((jobsOf) => jobsOf.map((j) => j.priority))).toEqual([[5, 4], [3, 2], [1]]);
    expect(claims.flat().every((j) => j.state === 'RUNNING')).toBe(true);
    expect(await claim([type], 5, now, (job) => startAttempt(job, 'w4', 't', now))).toEqual([]);
  });

  it('a claim whose write hits a WriteConflict is rerun and starts each job once', async () => {
    const type = `conflict.${randomUUID().slice(0, 8)}`;
    const jobs = [2, 1].map((priority) => pendingJob({ type, priority }));
    await Promise.all(jobs.map((job) => repository.create(job, created(job))));
    const admin = client.db('admin');
    // The claim's bulk write fails once with 112 WriteConflict, as when another replica changed a
    // job after this transaction's snapshot; the server labels it TransientTransactionError.
    const { count: before } = await admin.command({
      configureFailPoint: 'failCommand',
      mode: { times: 1 },
      data: { failCommands: [jobWriteCommand('update')], errorCode: 112 },
    });
    try {
      const now = new Date();
      const claimed = await claim([type], 5, now, (job) => startAttempt(job, 'w1', 't1', now));
      expect(claimed.map((j) => j.priority)).toEqual([2, 1]);
      expect(claimed.every((j) => j.state === 'RUNNING' && j.attempts === 1)).toBe(true);
    } finally {
      const { count } = await admin.command({ configureFailPoint: 'failCommand', mode: 'off' });
      expect(count).toBe((before as number) + 1);
    }
    for (const job of jobs) {
      expect((await repository.findById(job.id))?.state).toBe('RUNNING');
      expect(await eventTypes(job.id)).toEqual([
        'trellis.job.v1.JobCreated',
        'trellis.job.v1.JobStarted',
      ]);
    }
  });

  it('a claim arriving while a change transaction commits runs beside it and takes other jobs, without a conflict', async () => {
    // Candidate lists expire at once, so the second claim scans committed state, where the jobs
    // the first is claiming are still PENDING.
    const rescanning = new MongoJobRepository(
      client,
      client.db(repositoryDb),
      outbox,
      undefined,
      0,
    );
    const type = `inflight.${randomUUID().slice(0, 8)}`;
    const jobs = Array.from({ length: 8 }, (_, i) => pendingJob({ type, priority: 8 - i }));
    await Promise.all(jobs.map((job) => rescanning.create(job, created(job))));
    const failures: string[] = [];
    const onFailed = (event: CommandFailedEvent) =>
      failures.push(`${event.commandName}: ${event.failure.message}`);
    client.on('commandFailed', onFailed);
    const admin = client.db('admin');
    // The first claim's commit is held for 500 ms: the second claim arrives while it is in flight.
    await admin.command({
      configureFailPoint: 'failCommand',
      mode: { times: 1 },
      data: { failCommands: ['commitTransaction'], blockConnection: true, blockTimeMS: 500 },
    });
    try {
      const now = new Date();
      const finished: string[] = [];
      const claimAs = (worker: string) =>
        rescanning
          .claim({
            types: [type],
            maxJobs: 4,
            now,
            start: (job) => startAttempt(job, worker, `t-${worker}`, now),
          })
          .finally(() => finished.push(worker));
      const commits = () => sent.filter((name) => name === 'commitTransaction').length;
      const commitsBefore = commits();
      const first = claimAs('first');
      await waitFor(() => commits() > commitsBefore, {
        timeoutMs: 5_000,
        what: "the first claim's commit",
      });
      const second = claimAs('second');
      const [a, b] = await Promise.all([first, second]);
      expect(finished).toEqual(['second', 'first']);
      expect(a.map((job) => job.priority)).toEqual([8, 7, 6, 5]);
      expect(b.map((job) => job.priority)).toEqual([4, 3, 2, 1]);
      expect(failures).toEqual([]);
    } finally {
      client.off('commandFailed', onFailed);
      await admin.command({ configureFailPoint: 'failCommand', mode: 'off' });
    }
  });

  it('claims of one turn past the end of a candidate scan take every job once', async () => {
    // 600 due jobs: one scan keeps 512, so the seventh claim scans again inside the transaction,
    // where the jobs taken before it are still PENDING until its writes.
    const type = `rescan.${randomUUID().slice(0, 8)}`;
    const jobs = Array.from({ length: 600 }, () => pendingJob({ type }));
    await Promise.all(jobs.map((job) => repository.create(job, created(job))));
    const now = new Date();
    const claims = await Promise.all(
      Array.from({ length: 7 }, (_, i) =>
        claim([type], 100, now, (job) => startAttempt(job, `w${i}`, `t${i}`, now)),
      ),
    );
    const ids = claims.flat().map((job) => job.id);
    expect(ids).toHaveLength(600);
    expect(new Set(ids).size).toBe(600);
    expect(claims.map((c) => c.length)).toEqual([100, 100, 100, 100, 100, 100, 0]);
  });

  it('a create handed a waiting claim stores the job claimed, JobCreated then JobStarted, and no claim takes it again', async () => {
    const type = `handoff.${randomUUID().slice(0, 8)}`;
    const job = pendingJob({ type });
    const now = new Date();
    const { created: isNew, claimed } = await repository.create(job, created(job), {
      types: [type],
      maxJobs: 1,
      now,
      start: (pending) => startAttempt(pending, 'w', 'token', now),
    });
    expect(isNew).toBe(true);
    expect(claimed).toMatchObject({ id: job.id, state: 'RUNNING', leaseToken: 'token' });
    expect(await repository.findById(job.id)).toMatchObject({ state: 'RUNNING', attempts: 1 });
    expect(await eventTypes(job.id)).toEqual([
      'trellis.job.v1.JobCreated',
      'trellis.job.v1.JobStarted',
    ]);
    expect(await claim([type], 5, now, (j) => startAttempt(j, 'w2', 't2', now))).toEqual([]);
  });

  it('a completion and a claim of one turn share a transaction; the claim skips the updated job', async () => {
    const type = `fused.${randomUUID().slice(0, 8)}`;
    const [a, b] = [pendingJob({ type }), pendingJob({ type })];
    await Promise.all([a, b].map((job) => repository.create(job, created(job))));
    const now = new Date();
    const [running] = await claim([type], 1, now, (job) => startAttempt(job, 'w', 'token', now));
    const other = running.id === a.id ? b : a;
    // A cancel of the PENDING job in the same turn as a claim that would take it: the claim
    // leaves it to the update.
    const [done, cancelled, claimed] = await Promise.all([
      repository.update(running.id, (job) => complete(job, 'token', {}, now)),
      repository.update(other.id, (job) => ({
        job: { ...job, state: 'CANCELLED', finishedAt: now, updatedAt: now },
        events: [],
      })),
      claim([type], 5, now, (job) => startAttempt(job, 'w2', 'token2', now)),
    ]);
    expect([done.state, cancelled.state, claimed]).toEqual(['SUCCEEDED', 'CANCELLED', []]);
    expect((await repository.findById(other.id))?.state).toBe('CANCELLED');
  });

  it('completeAndClaim completes and claims in one transaction, alone in its turn; each completion has its own outcome and the claim skips their jobs', async () => {
    const type = `next.${randomUUID().slice(0, 8)}`;
    const [a, b, c] = [3, 2, 1].map((priority) => pendingJob({ type, priority }));
    await Promise.all([a, b, c].map((job) => repository.create(job, created(job))));
    const now = new Date();
    const [running] = await claim([type], 1, now, (job) => startAttempt(job, 'w', 'token', now));
    expect(running.id).toBe(a.id);
    const { changed, claimed } = await repository.completeAndClaim(
      [
        { id: a.id, change: (job) => complete(job, 'token', {}, now) },
        // A stale completion of the PENDING b: LEASE_LOST for it alone, and b is left alone.
        { id: b.id, change: (job) => complete(job, 'stale', {}, now) },
      ],
      { types: [type], maxJobs: 5, now, start: (job) => startAttempt(job, 'w', 'token2', now) },
    );
    expect(changed.map((o) => ('value' in o ? o.value.state : o.error))).toEqual([
      'SUCCEEDED',
      expect.objectContaining({ code: 'JOB.LEASE_LOST' }),
    ]);
    expect(claimed.map((job) => [job.id, job.state])).toEqual([[c.id, 'RUNNING']]);
    expect((await repository.findById(b.id))?.state).toBe('PENDING');
    expect(await eventTypes(a.id)).toEqual([
      'trellis.job.v1.JobCreated',
      'trellis.job.v1.JobStarted',
      'trellis.job.v1.JobSucceeded',
    ]);
  });
});

describe('flows in the repository', () => {
  it('two replicas completing the last two siblings at once release the parent exactly once', async () => {
    // A second repository on the same database: its own group commit, so its own transactions.
    const other = new MongoJobRepository(client, client.db(repositoryDb), outbox);
    for (let round = 0; round < 5; round++) {
      const parent = awaitChildren(pendingJob({ type: 'repo.flow' }), 2, 'FAIL_PARENT');
      const children = [0, 1].map(() => childOf(pendingJob({ type: 'repo.flow' }), parent.id));
      await repository.createFlow(parent, children, [parent, ...children].flatMap(created));
      const now = new Date();
      const claimed = await claim(['repo.flow'], 2, now, (job) =>
        startAttempt(job, 'w', `lease-${job.id}`, now),
      );
      expect(claimed.map((job) => job.id).sort()).toEqual(children.map((c) => c.id).sort());
      const finish = (job: Job) => (current: Job) =>
        complete(current, `lease-${job.id}`, {}, new Date());
      await Promise.all([
        repository.update(claimed[0].id, finish(claimed[0])),
        other.update(claimed[1].id, finish(claimed[1])),
      ]);
      const stored = await repository.findById(parent.id);
      expect(stored).toMatchObject({ state: 'PENDING', pendingChildren: 0 });
      expect(await eventTypes(parent.id)).toEqual([
        'trellis.job.v1.JobCreated',
        'trellis.job.v1.JobChildrenCompleted',
      ]);
      // The other replica may have released it: this one's candidates see it within their TTL.
      const [released] = await waitFor(async () => {
        const jobs = await claim(['repo.flow'], 1, new Date(), (job) =>
          startAttempt(job, 'w', 'lease-parent', new Date()),
        );
        return jobs.length > 0 ? jobs : undefined;
      });
      expect(released.id).toBe(parent.id);
      await repository.update(parent.id, (current) =>
        complete(current, 'lease-parent', {}, new Date()),
      );
    }
  });
});

describe('documents this replica wrote last (not read back)', () => {
  const start = (lease: string) => (job: Job) => startAttempt(job, 'w', lease, new Date());

  it('a job this replica created but another replica claimed is not handed out here again', async () => {
    const other = new MongoJobRepository(client, client.db(repositoryDb), outbox);
    const type = `repo.written.${randomUUID().slice(0, 8)}`;
    const first = pendingJob({ type });
    await repository.create(first, created(first));
    expect(
      await other.claim({ types: [type], maxJobs: 1, now: new Date(), start: start('b') }),
    ).toEqual([expect.objectContaining({ id: first.id, leaseToken: 'b' })]);
    // This replica remembers the job PENDING as it created it; its claim must find it taken.
    expect(await claim([type], 1, new Date(), start('a'))).toEqual([]);
    const second = pendingJob({ type });
    await repository.create(second, created(second));
    expect((await claim([type], 2, new Date(), start('a'))).map((job) => job.id)).toEqual([
      second.id,
    ]);
    expect(await repository.findById(first.id)).toMatchObject({
      state: 'RUNNING',
      leaseToken: 'b',
    });
    expect(await eventTypes(first.id)).toEqual([
      'trellis.job.v1.JobCreated',
      'trellis.job.v1.JobStarted',
    ]);
  });

  /** A job this replica created and claimed under `old`, then another replica claimed under `new`. */
  async function reclaimedElsewhere(): Promise<Job> {
    const other = new MongoJobRepository(client, client.db(repositoryDb), outbox);
    const type = `repo.written.${randomUUID().slice(0, 8)}`;
    const job = pendingJob({ type });
    await repository.create(job, created(job));
    expect(await claim([type], 1, new Date(), start('old'))).toHaveLength(1);
    await other.update(job.id, (current) => abandonClaim(current, new Date()));
    const taken = await other.claim({
      types: [type],
      maxJobs: 1,
      now: new Date(),
      start: start('new'),
    });
    expect(taken).toHaveLength(1);
    return job;
  }

  it('a completion under the lease this replica remembers, since replaced elsewhere, is refused', async () => {
    const job = await reclaimedElsewhere();
    await expect(
      repository.update(job.id, (current) => complete(current, 'old', {}, new Date())),
    ).rejects.toThrow();
    expect(await repository.findById(job.id)).toMatchObject({
      state: 'RUNNING',
      leaseToken: 'new',
    });
    expect((await eventTypes(job.id)).filter((t) => t.endsWith('JobSucceeded'))).toEqual([]);
  });

  it('a completion under the current lease succeeds though this replica remembers another', async () => {
    const job = await reclaimedElsewhere();
    const done = await repository.update(job.id, (current) =>
      complete(current, 'new', { ok: true }, new Date()),
    );
    expect(done).toMatchObject({ state: 'SUCCEEDED', result: { ok: true } });
    expect(await repository.findById(job.id)).toMatchObject({ state: 'SUCCEEDED' });
    expect((await eventTypes(job.id)).filter((t) => t.endsWith('JobSucceeded'))).toHaveLength(1);
  });
});
