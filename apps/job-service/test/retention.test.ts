import { randomUUID } from 'node:crypto';
import { MongoClient, type Db } from 'mongodb';
import { Status } from 'nice-grpc';
import { jobV1 } from '@trellis/contracts';
import { waitFor } from '@trellis/platform/testing';
import { startMongoDevServer, type MongoDevServer } from '@trellis/devstack/mongo';
import { ApplyRetention } from '../src/app/apply-retention.command';
import { noMetrics } from '../src/app/ports/job-metrics.port';
import type { Runtime } from '../src/app/ports/runtime.port';
import { JOB_LOGS_COLLECTION } from '../src/adapters/mongo/job-log.repository';
import { MongoJobRetentionRepository } from '../src/adapters/mongo/job-retention.repository';
import {
  JOBS_COLLECTION,
  type JobDocument,
  toDocument,
} from '../src/adapters/mongo/job.repository';
import { newJob, type Job, type JobState } from '../src/domain/job';
import { DEFAULT_JOB_TYPES, JobTypeRegistry, type JobTypeDefinition } from '../src/domain/job-type';
import type { EffectiveRetention, JobRetention } from '../src/domain/retention';
import { startHarness, type Harness } from './harness';

// Retention against the devstack MongoDB with a controllable clock (the Runtime port): the jobs
// finished "hours ago" by that clock; nothing here waits for real time to pass.
let server: MongoDevServer | undefined;
let client: MongoClient;
let db: Db;

const HOUR = 3600_000;
const T0 = new Date('2030-01-01T00:00:00Z');

beforeAll(async () => {
  server = process.env.MONGODB_URI ? undefined : await startMongoDevServer({ port: 0 });
  client = new MongoClient(process.env.MONGODB_URI ?? server!.uri);
});

beforeEach(async () => {
  db = client.db(`job_retention_${randomUUID().slice(0, 8)}`);
  await new MongoJobRetentionRepository(client, db).ensureIndexes();
});

afterAll(async () => {
  await client.close();
  await server?.stop();
});

/** A clock the test moves by hand. */
function clock(start: Date): Runtime & { advance(ms: number): void } {
  let now = start.getTime();
  return {
    now: () => new Date(now),
    random: () => 0.5,
    advance: (ms) => (now += ms),
  };
}

const LONG: EffectiveRetention = {
  SUCCEEDED: { maxAgeMs: 1_000 * HOUR, maxCount: 1_000_000 },
  DEAD: { maxAgeMs: 1_000 * HOUR, maxCount: 1_000_000 },
  CANCELLED: { maxAgeMs: 1_000 * HOUR, maxCount: 1_000_000 },
};

function typeWith(name: string, retention?: JobRetention): JobTypeDefinition {
  return { ...DEFAULT_JOB_TYPES[1], name, retention };
}

/** A job in `state`, finished `agoMs` before T0 when terminal (stored as is). */
function job(
  type: string,
  state: JobState,
  agoMs: number,
  overrides: Partial<Job> = {},
): JobDocument {
  const created = new Date(T0.getTime() - agoMs - HOUR);
  const base = newJob(
    {
      id: randomUUID(),
      type,
      payload: {},
      priority: 0,
      runAt: created,
      maxAttempts: 3,
      backoff: { initialDelayMs: 100, maxDelayMs: 1000, multiplier: 2, jitter: 0 },
      leaseDurationMs: 30_000,
      idempotencyKey: '',
      requestHash: 'h',
    },
    created,
  );
  const terminal = state === 'SUCCEEDED' || state === 'DEAD' || state === 'CANCELLED';
  return toDocument({
    ...base,
    state,
    finishedAt: terminal ? new Date(T0.getTime() - agoMs) : null,
    ...overrides,
  });
}

async function store(...docs: JobDocument[]): Promise<string[]> {
  await db.collection<JobDocument>(JOBS_COLLECTION).insertMany(docs);
  return docs.map((d) => d._id);
}

async function remaining(): Promise<string[]> {
  const docs = await db.collection<JobDocument>(JOBS_COLLECTION).find().toArray();
  return docs.map((d) => d._id).sort();
}

function retention(
  types: JobTypeDefinition[],
  runtime: Runtime,
  defaults = LONG,
  removed: Array<[string, string, number]> = [],
) {
  return new ApplyRetention({
    retention: new MongoJobRetentionRepository(client, db),
    types: new JobTypeRegistry(types),
    runtime,
    metrics: { ...noMetrics, removed: (type, state, n) => removed.push([type, state, n]) },
    defaults,
    batchSize: 2, // small, so passes page through several batches
  });
}

describe('retention', () => {
  it('removes finished jobs older than their type keeps them, as the clock moves', async () => {
    const runtime = clock(T0);
    const type = typeWith('ret.age', {
      SUCCEEDED: { maxAgeMs: HOUR },
      DEAD: { maxAgeMs: 3 * HOUR },
    });
    const old = await store(
      job('ret.age', 'SUCCEEDED', 2 * HOUR),
      job('ret.age', 'SUCCEEDED', 2 * HOUR),
      job('ret.age', 'SUCCEEDED', 90 * 60_000),
    );
    const young = await store(job('ret.age', 'SUCCEEDED', 30 * 60_000));
    const dead = await store(job('ret.age', 'DEAD', 2 * HOUR));
    // Jobs that have not ended are never removed, however old.
    const live = await store(
      job('ret.age', 'PENDING', 10 * HOUR),
      job('ret.age', 'RUNNING', 10 * HOUR),
    );
    const removed: Array<[string, string, number]> = [];
    const apply = retention([type], runtime, LONG, removed);

    expect(await apply.execute()).toBe(old.length);
    expect(await remaining()).toEqual([...young, ...dead, ...live].sort());
    expect(
      removed.reduce((n, [, state, count]) => n + (state === 'SUCCEEDED' ? count : 0), 0),
    ).toBe(3);

    runtime.advance(HOUR); // the young one is now 90 min old, the dead one 3 h
    expect(await apply.execute()).toBe(2);
    expect(await remaining()).toEqual([...live].sort());
    expect(await apply.execute()).toBe(0);
  });

  it('keeps at most N of each terminal state per type, the newest', async () => {
    const runtime = clock(T0);
    const type = typeWith('ret.count', { SUCCEEDED: { maxCount: 3 }, CANCELLED: { maxCount: 1 } });
    const succeeded = await store(
      ...[50, 40, 30, 20, 10].map((minutes) => job('ret.count', 'SUCCEEDED', minutes * 60_000)),
    );
    const cancelled = await store(
      job('ret.count', 'CANCELLED', 20 * 60_000),
      job('ret.count', 'CANCELLED', 10 * 60_000),
    );
    // Another type's jobs count for that type only.
    const other = await store(
      ...[50, 40, 30, 20].map((minutes) => job('ret.other', 'SUCCEEDED', minutes * 60_000)),
    );
    const apply = retention([type, typeWith('ret.other')], runtime);

    expect(await apply.execute()).toBe(3);
    expect(await remaining()).toEqual([...succeeded.slice(2), cancelled[1], ...other].sort());
  });

  it('applies the service default to types that say nothing', async () => {
    const runtime = clock(T0);
    const defaults: EffectiveRetention = {
      ...LONG,
      SUCCEEDED: { maxAgeMs: HOUR, maxCount: 2 },
    };
    const kept = await store(
      job('ret.plain', 'SUCCEEDED', 20 * 60_000),
      job('ret.plain', 'SUCCEEDED', 10 * 60_000),
    );
    await store(
      job('ret.plain', 'SUCCEEDED', 30 * 60_000),
      job('ret.plain', 'SUCCEEDED', 2 * HOUR),
    );
    expect(await retention([typeWith('ret.plain')], runtime, defaults).execute()).toBe(2);
    expect(await remaining()).toEqual(kept.sort());
  });

  it('keeps jobs a parent that has not ended still references, and removes them once it has', async () => {
    const runtime = clock(T0);
    const type = typeWith('ret.flow', { SUCCEEDED: { maxAgeMs: HOUR, maxCount: 1 } });
    const [parent] = await store(job('ret.parent', 'PENDING', 0));
    const waited = await store(
      job('ret.flow', 'SUCCEEDED', 5 * HOUR, { parentId: parent }),
      job('ret.flow', 'SUCCEEDED', 4 * HOUR, { parentId: parent }),
      job('ret.flow', 'SUCCEEDED', 3 * HOUR, { parentId: parent }),
    );
    // The oldest jobs are the referenced ones: the pass pages past them to the others. A parent
    // that is gone holds nothing back.
    await store(job('ret.flow', 'SUCCEEDED', 2 * HOUR, { parentId: randomUUID() }));
    const plain = await store(
      job('ret.flow', 'SUCCEEDED', 90 * 60_000),
      job('ret.flow', 'SUCCEEDED', 10 * 60_000),
    );
    const apply = retention([type, typeWith('ret.parent')], runtime);

    expect(await apply.execute()).toBe(2);
    expect(await remaining()).toEqual([parent, ...waited, plain[1]].sort());

    await db
      .collection<JobDocument>(JOBS_COLLECTION)
      .updateOne({ _id: parent }, { $set: { state: 'RUNNING' } });
    expect(await apply.execute()).toBe(0);

    await db
      .collection<JobDocument>(JOBS_COLLECTION)
      .updateOne({ _id: parent }, { $set: { state: 'SUCCEEDED', finished_at: runtime.now() } });
    expect(await apply.execute()).toBe(3);
    expect(await remaining()).toEqual([parent, plain[1]].sort());
  });

  it('removes a job log with its job, and only then', async () => {
    const runtime = clock(T0);
    const type = typeWith('ret.logs', { DEAD: { maxAgeMs: HOUR } });
    const [gone, kept] = await store(
      job('ret.logs', 'DEAD', 2 * HOUR),
      job('ret.logs', 'DEAD', 10 * 60_000),
    );
    const logs = db.collection<{ _id: string }>(JOB_LOGS_COLLECTION);
    const line = { seq: 1, message: 'x', logged_at: T0, attempt: 1 };
    await logs.insertMany(
      [gone, kept].map((id) => ({ _id: id, lines: [line], dropped: 0, bytes: 1, updated_at: T0 })),
    );
    expect(await retention([type], runtime).execute()).toBe(1);
    expect((await logs.find().toArray()).map((l) => l._id)).toEqual([kept]);
    runtime.advance(HOUR);
    expect(await retention([type], runtime).execute()).toBe(1);
    expect(await logs.countDocuments()).toBe(0);
  });
});

describe('retention in the job-service', () => {
  const runtime = clock(new Date());
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness(
      'job_retention_service_test',
      { JOB_RETENTION_INTERVAL_MS: '100' },
      { runtime },
    );
  });
  afterAll(async () => {
    await h?.stop();
  });

  it('a type registered with retention has its finished jobs and logs removed once the clock passes it', async () => {
    const minute = { seconds: 60n, nanos: 0 };
    const { jobType } = await h.jobs.client.registerJobType({
      jobType: {
        name: 'retention.report',
        payloadSchema: { type: 'object' },
        succeededRetention: { maxAge: minute, maxCount: 0n },
      },
    });
    expect(jobType?.succeededRetention).toEqual({ maxAge: minute, maxCount: 0n });
    expect(jobType?.deadRetention).toBeUndefined();
    const { job } = await h.jobs.client.createJob({ type: 'retention.report', payload: {} });
    const { jobs } = await h.jobs.client.claimJobs({
      workerId: 'retention-test',
      types: ['retention.report'],
      maxJobs: 1,
      wait: { seconds: 5n, nanos: 0 },
    });
    const [claimed] = jobs;
    expect(claimed.job?.id).toBe(job!.id);
    await h.jobs.client.appendJobLogs({
      jobId: job!.id,
      leaseToken: claimed.leaseToken,
      lines: [{ message: 'working' }],
    });
    await h.jobs.client.completeJob({ jobId: job!.id, leaseToken: claimed.leaseToken });
    // Half a minute on, younger than its minute: still there, with its log.
    runtime.advance(30_000);
    await waitFor(
      async () => {
        const log = await h.jobs.client.listJobLogs({ jobId: job!.id, pageSize: 10 });
        return log.lines.length === 1;
      },
      { what: 'the log line' },
    );
    const kept = await h.jobs.client.getJob({ jobId: job!.id });
    expect(kept.job?.state).toBe(jobV1.JobState.JOB_STATE_SUCCEEDED);

    runtime.advance(31_000);
    await waitFor(
      () =>
        h.jobs.client.getJob({ jobId: job!.id }).then(
          () => false,
          (err: { code?: Status }) => err.code === Status.NOT_FOUND,
        ),
      { what: 'the job removed' },
    );
    const logs = new MongoClient(h.mongoUri);
    try {
      const doc = await logs
        .db('job_retention_service_test')
        .collection(JOB_LOGS_COLLECTION)
        .findOne({ _id: job!.id as unknown as never });
      expect(doc).toBeNull();
    } finally {
      await logs.close();
    }
  });
});
