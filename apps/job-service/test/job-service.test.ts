import { createChannel, createClient, Status } from 'nice-grpc';
import { ErrorInfo, type RichClientError } from 'nice-grpc-error-details';
import { jobV1, type DecodedEvent } from '@trellis/contracts';
import { createJobProducer, createWorker, JobCancelledError } from '@trellis/job-worker';
import { bufCurl, waitFor } from '@trellis/platform/testing';
import { startHarness, type Harness } from './harness';
import { fieldsOf, reasonOf, rpcError } from './rpc-errors';

const { JobState } = jobV1;
let h: Harness;

beforeAll(async () => {
  h = await startHarness('job_service_test');
});
afterAll(async () => {
  await h?.stop();
});

const claim = (types: string[], maxJobs = 1, waitMs = 0, workerId = 'test-worker') =>
  h.jobs.client.claimJobs({
    workerId,
    types,
    maxJobs,
    wait: { seconds: BigInt(Math.floor(waitMs / 1000)), nanos: (waitMs % 1000) * 1e6 },
  });

/** Calls of `method` the service answered with `status`, from its RPC metrics. */
async function callsOf(method: string, status = 'OK'): Promise<number> {
  const text = await (await fetch(h.service.metricsUrl)).text();
  const line = text
    .split('\n')
    .find(
      (l) =>
        l.startsWith('rpc_server_requests_total') &&
        l.includes(`rpc_method="${method}"`) &&
        l.includes(`rpc_grpc_status_code="${status}"`),
    );
  return Number(line?.split(' ').pop() ?? 0);
}

describe('CreateJob validation', () => {
  it('rejects a payload that violates the schema, naming the field', async () => {
    const err = await rpcError(h.jobs.client.createJob({ type: 'test.work', payload: { n: 'x' } }));
    expect(err.code).toBe(Status.INVALID_ARGUMENT);
    expect(reasonOf(err)).toBe('PAYLOAD_SCHEMA_VIOLATION');
    expect(fieldsOf(err)).toEqual(['payload/n']);
    const missing = await rpcError(h.jobs.client.createJob({ type: 'test.work', payload: {} }));
    expect(fieldsOf(missing)).toEqual(['payload/n']);
  });

  it('rejects an unknown type and an oversized payload', async () => {
    const unknown = await rpcError(h.jobs.client.createJob({ type: 'nope', payload: {} }));
    expect(unknown.code).toBe(Status.INVALID_ARGUMENT);
    expect(reasonOf(unknown)).toBe('UNKNOWN_JOB_TYPE');
    expect(fieldsOf(unknown)).toEqual(['type']);
    const big = await rpcError(
      h.jobs.client.createJob({ type: 'test.other', payload: { text: 'x'.repeat(100) } }),
    );
    expect(big.code).toBe(Status.INVALID_ARGUMENT);
    expect(reasonOf(big)).toBe('PAYLOAD_TOO_LARGE');
    expect(fieldsOf(big)).toEqual(['payload']);
  });

  it('rejects bad options naming each field', async () => {
    const err = await rpcError(
      h.jobs.client.createJob({
        type: 'test.other',
        payload: {},
        priority: 5000,
        maxAttempts: 101,
        backoff: { initialDelay: { seconds: 0n, nanos: 1_000_000 }, multiplier: 0.5 },
      }),
    );
    expect(fieldsOf(err).sort()).toEqual([
      'backoff.initial_delay',
      'backoff.multiplier',
      'max_attempts',
      'priority',
    ]);
  });

  it('lists the declared types', async () => {
    const { jobTypes } = await h.jobs.client.listJobTypes({});
    expect(jobTypes.map((t) => t.name)).toEqual([
      'test.batch',
      'test.bulk',
      'test.other',
      'test.sdk',
      'test.work',
    ]);
    expect(jobTypes.find((t) => t.name === 'test.other')!.maxPayloadBytes).toBe(64);
  });
});

describe('malformed ids', () => {
  it('every call taking a job id answers a malformed one with INVALID_ARGUMENT naming the field', async () => {
    const bad = 'not-a-uuid';
    const calls: Array<[() => Promise<unknown>, string]> = [
      [() => h.jobs.client.getJob({ jobId: bad }), 'job_id'],
      [() => h.jobs.client.cancelJob({ jobId: bad }), 'job_id'],
      [() => h.jobs.client.retryJob({ jobId: bad }), 'job_id'],
      [() => h.jobs.client.heartbeatJob({ jobId: bad, leaseToken: 't' }), 'job_id'],
      [() => h.jobs.client.completeJob({ jobId: bad, leaseToken: 't' }), 'job_id'],
      [() => h.jobs.client.failJob({ jobId: bad, leaseToken: 't', errorMessage: 'x' }), 'job_id'],
      [
        () => h.jobs.client.completeJobs({ completions: [{ jobId: bad, leaseToken: 't' }] }),
        'completions[0].job_id',
      ],
    ];
    for (const [call, field] of calls) {
      const err = await rpcError(call());
      expect(err.code).toBe(Status.INVALID_ARGUMENT);
      expect(fieldsOf(err)).toEqual([field]);
      expect(err.details).toBe(`${field}: is not a valid job id (expected a UUID)`);
    }
  });
});

describe('idempotency keys', () => {
  it('returns the same job for a repeated key and ABORTED for a different payload', async () => {
    const first = await h.jobs.client.createJob({
      type: 'test.other',
      payload: { a: 1, b: 2 },
      idempotencyKey: 'key-1',
    });
    const again = await h.jobs.client.createJob({
      type: 'test.other',
      payload: { b: 2, a: 1 },
      idempotencyKey: 'key-1',
    });
    expect(first.created).toBe(true);
    expect(again.created).toBe(false);
    expect(again.job!.id).toBe(first.job!.id);
    const concurrent = await Promise.all(
      Array.from({ length: 5 }, () =>
        h.jobs.client.createJob({ type: 'test.other', payload: {}, idempotencyKey: 'key-2' }),
      ),
    );
    expect(new Set(concurrent.map((r) => r.job!.id)).size).toBe(1);
    expect(concurrent.filter((r) => r.created)).toHaveLength(1);
    const reused = await rpcError(
      h.jobs.client.createJob({ type: 'test.other', payload: { a: 2 }, idempotencyKey: 'key-1' }),
    );
    expect(reused.code).toBe(Status.ABORTED);
    expect(reasonOf(reused)).toBe('IDEMPOTENCY_KEY_REUSED');
    // Clean up so later claims of test.other see only their own jobs.
    await h.jobs.client.cancelJob({ jobId: first.job!.id });
    await h.jobs.client.cancelJob({ jobId: concurrent[0].job!.id });
    // One JobCreated per job, however often the key was replayed.
    for (const id of [first.job!.id, concurrent[0].job!.id]) {
      expect((await h.eventsOf(id, 2)).map((e) => e.eventType)).toEqual([
        'trellis.job.v1.JobCreated',
        'trellis.job.v1.JobCancelled',
      ]);
    }
  });
});

describe('claim order', () => {
  it('claims by priority, then run_at, then creation; a future run_at waits', async () => {
    const make = async (priority: number, extra: Partial<jobV1.CreateJobRequest> = {}) =>
      (await h.jobs.client.createJob({ type: 'test.other', payload: {}, priority, ...extra })).job!
        .id;
    // Created first but due last among the priority-5 jobs.
    const delayed = await make(5, { delay: { seconds: 0n, nanos: 300_000_000 } });
    const low = await make(-3);
    const mid = await make(0);
    const highA = await make(5);
    const highB = await make(5);
    const top = await make(10);
    const later = await make(100, { delay: { seconds: 2n, nanos: 0 } });
    await waitFor(async () => {
      const { stats } = await h.jobs.client.getQueueStats({ types: ['test.other'] });
      return stats[0].due === 6n;
    });
    const { jobs } = await claim(['test.other'], 10);
    expect(jobs.map((j) => j.job!.id)).toEqual([top, highA, highB, delayed, mid, low]);
    expect(jobs.every((j) => j.job!.state === JobState.JOB_STATE_RUNNING && j.leaseToken)).toBe(
      true,
    );
    // The delayed job is claimed once due: a long-poll returns it without a new create.
    const started = Date.now();
    const next = await claim(['test.other'], 1, 5_000);
    expect(next.jobs.map((j) => j.job!.id)).toEqual([later]);
    expect(Date.now() - started).toBeGreaterThanOrEqual(500);
    for (const j of [...jobs, ...next.jobs])
      await h.jobs.client.completeJob({ jobId: j.job!.id, leaseToken: j.leaseToken });
  }, 15_000); // waits out a 2 s delay on purpose

  it('a long-poll returns as soon as a job is created', async () => {
    const polling = claim(['test.other'], 1, 10_000);
    await new Promise((resolve) => setImmediate(resolve));
    const { job } = await h.jobs.client.createJob({ type: 'test.other', payload: {} });
    const started = Date.now();
    const { jobs } = await polling;
    expect(jobs[0].job!.id).toBe(job!.id);
    expect(Date.now() - started).toBeLessThan(2_000);
    await h.jobs.client.completeJob({ jobId: job!.id, leaseToken: jobs[0].leaseToken });
  });
});

describe('worker protocol', () => {
  it('a stale or foreign lease token is LEASE_LOST and changes nothing', async () => {
    const { job } = await h.jobs.client.createJob({ type: 'test.other', payload: {} });
    const [claimed] = (await claim(['test.other'])).jobs;
    for (const call of [
      h.jobs.client.completeJob({ jobId: job!.id, leaseToken: 'forged' }),
      h.jobs.client.failJob({ jobId: job!.id, leaseToken: 'forged', errorMessage: 'x' }),
      h.jobs.client.heartbeatJob({ jobId: job!.id, leaseToken: 'forged' }),
    ]) {
      const err = await rpcError(call);
      expect(err.code).toBe(Status.FAILED_PRECONDITION);
      expect(reasonOf(err)).toBe('LEASE_LOST');
    }
    const unchanged = (await h.jobs.client.getJob({ jobId: job!.id })).job!;
    expect(unchanged.state).toBe(JobState.JOB_STATE_RUNNING);
    const beat = await h.jobs.client.heartbeatJob({
      jobId: job!.id,
      leaseToken: claimed.leaseToken,
      progress: { percent: 40, message: 'busy', counters: { sent: 7n } },
    });
    expect(beat.cancelRequested).toBe(false);
    const withProgress = (await h.jobs.client.getJob({ jobId: job!.id })).job!;
    expect(withProgress.progress).toMatchObject({
      percent: 40,
      message: 'busy',
      counters: { sent: 7n },
    });
    const done = await h.jobs.client.completeJob({
      jobId: job!.id,
      leaseToken: claimed.leaseToken,
      result: { ok: true },
    });
    expect(done.job!.state).toBe(JobState.JOB_STATE_SUCCEEDED);
    // The old token after completion, and illegal transitions.
    expect(
      reasonOf(
        await rpcError(
          h.jobs.client.completeJob({ jobId: job!.id, leaseToken: claimed.leaseToken }),
        ),
      ),
    ).toBe('LEASE_LOST');
    const retry = await rpcError(h.jobs.client.retryJob({ jobId: job!.id }));
    expect(retry.code).toBe(Status.FAILED_PRECONDITION);
    expect(reasonOf(retry)).toBe('ILLEGAL_TRANSITION');
    const cancel = await rpcError(h.jobs.client.cancelJob({ jobId: job!.id }));
    expect(reasonOf(cancel)).toBe('ILLEGAL_TRANSITION');
    // Only a well-formed id that names no job is NOT_FOUND (a malformed one: see 'malformed ids').
    const missing = await rpcError(
      h.jobs.client.getJob({ jobId: '00000000-0000-4000-8000-000000000000' }),
    );
    expect(missing.code).toBe(Status.NOT_FOUND);
    const types = (await h.eventsOf(job!.id, 3)).map((e) => e.eventType);
    expect(types).toEqual([
      'trellis.job.v1.JobCreated',
      'trellis.job.v1.JobStarted',
      'trellis.job.v1.JobSucceeded',
    ]);
  });

  it('retries follow the backoff, end DEAD after max_attempts, and RetryJob revives the job', async () => {
    const { job } = await h.jobs.client.createJob({ type: 'test.work', payload: { n: 1 } });
    const failedAt: number[] = [];
    const startedAt: number[] = [];
    for (let attempt = 1; attempt <= 3; attempt++) {
      const [claimed] = (await claim(['test.work'], 1, 5_000)).jobs;
      expect(claimed.job!.id).toBe(job!.id);
      expect(claimed.job!.attempts).toBe(attempt);
      startedAt.push(claimed.job!.startedAt!.getTime());
      const failed = await h.jobs.client.failJob({
        jobId: job!.id,
        leaseToken: claimed.leaseToken,
        errorMessage: `boom ${attempt}`,
        errorCode: 'BOOM',
        retryable: true,
      });
      failedAt.push(failed.job!.lastError!.occurredAt!.getTime());
      expect(failed.willRetry).toBe(attempt < 3);
      if (attempt < 3) {
        // initial 0.2 s × 2^(attempt-1), no jitter.
        expect(failed.nextRunAt!.getTime() - failedAt[attempt - 1]).toBe(200 * 2 ** (attempt - 1));
      }
    }
    // Each retry started no earlier than its backoff allowed.
    expect(startedAt[1] - failedAt[0]).toBeGreaterThanOrEqual(200);
    expect(startedAt[2] - failedAt[1]).toBeGreaterThanOrEqual(400);
    const dead = (await h.jobs.client.getJob({ jobId: job!.id })).job!;
    expect(dead.state).toBe(JobState.JOB_STATE_DEAD);
    expect(dead.lastError).toMatchObject({ message: 'boom 3', code: 'BOOM', attempt: 3 });
    // Created, then (started, failed) × 3, then dead-lettered.
    const events = await h.eventsOf(job!.id, 8);
    const failures = events.filter(
      (e): e is Extract<DecodedEvent, { eventType: 'trellis.job.v1.JobFailed' }> =>
        e.eventType === 'trellis.job.v1.JobFailed',
    );
    expect(failures.map((f) => [f.payload.attempt, f.payload.willRetry])).toEqual([
      [1, true],
      [2, true],
      [3, false],
    ]);
    expect(events[events.length - 1].eventType).toBe('trellis.job.v1.JobDeadLettered');
    const dlq = await h.jobs.client.listJobs({ state: JobState.JOB_STATE_DEAD, type: 'test.work' });
    expect(dlq.jobs.map((j) => j.id)).toContain(job!.id);

    const revived = await h.jobs.client.retryJob({ jobId: job!.id });
    expect(revived.job).toMatchObject({ state: JobState.JOB_STATE_PENDING, attempts: 0 });
    const [again] = (await claim(['test.work'], 1, 5_000)).jobs;
    expect(again.job!.attempts).toBe(1);
    const done = await h.jobs.client.completeJob({ jobId: job!.id, leaseToken: again.leaseToken });
    expect(done.job!.state).toBe(JobState.JOB_STATE_SUCCEEDED);
  });

  it('a non-retryable failure goes DEAD at once', async () => {
    const { job } = await h.jobs.client.createJob({ type: 'test.work', payload: { n: 2 } });
    const [claimed] = (await claim(['test.work'], 1, 5_000)).jobs;
    const failed = await h.jobs.client.failJob({
      jobId: job!.id,
      leaseToken: claimed.leaseToken,
      errorMessage: 'bad input',
      retryable: false,
    });
    expect(failed.willRetry).toBe(false);
    expect(failed.job!.state).toBe(JobState.JOB_STATE_DEAD);
  });

  it('calls committed together keep their own outcomes and see each other in arrival order', async () => {
    const created = await Promise.all(
      [0, 1, 2].map(() => h.jobs.client.createJob({ type: 'test.other', payload: {} })),
    );
    const claimed = (await claim(['test.other'], 3)).jobs;
    expect(claimed.map((c) => c.job!.id).sort()).toEqual(created.map((c) => c.job!.id).sort());
    const [a, b, c] = claimed;
    // Sent in one go, so they share a transaction: a heartbeat then the completion of `a`, a
    // forged completion of `b`, and the completion of `c`.
    const outcomes = await Promise.allSettled([
      h.jobs.client.heartbeatJob({
        jobId: a.job!.id,
        leaseToken: a.leaseToken,
        progress: { percent: 50, message: 'half', counters: {} },
      }),
      h.jobs.client.completeJob({ jobId: a.job!.id, leaseToken: a.leaseToken }),
      h.jobs.client.completeJob({ jobId: b.job!.id, leaseToken: 'forged' }),
      h.jobs.client.completeJob({ jobId: c.job!.id, leaseToken: c.leaseToken }),
    ]);
    expect(outcomes.map((o) => o.status)).toEqual([
      'fulfilled',
      'fulfilled',
      'rejected',
      'fulfilled',
    ]);
    expect(reasonOf((outcomes[2] as PromiseRejectedResult).reason as RichClientError)).toBe(
      'LEASE_LOST',
    );
    const stateOf = async (id: string) => (await h.jobs.client.getJob({ jobId: id })).job!;
    const doneA = await stateOf(a.job!.id);
    expect(doneA.state).toBe(JobState.JOB_STATE_SUCCEEDED);
    expect(doneA.progress?.message).toBe('half');
    expect((await stateOf(b.job!.id)).state).toBe(JobState.JOB_STATE_RUNNING);
    expect((await stateOf(c.job!.id)).state).toBe(JobState.JOB_STATE_SUCCEEDED);
    await h.jobs.client.completeJob({ jobId: b.job!.id, leaseToken: b.leaseToken });
    expect((await h.eventsOf(a.job!.id, 3)).map((e) => e.eventType)).toEqual([
      'trellis.job.v1.JobCreated',
      'trellis.job.v1.JobStarted',
      'trellis.job.v1.JobSucceeded',
    ]);
  });
});

describe('CreateJobs', () => {
  const countOf = async (type: string) =>
    (await h.jobs.client.getQueueStats({ types: [type] })).stats[0]?.pending ?? 0n;

  it('creates each entry on its own: new jobs, an idempotent replay, a reused key', async () => {
    const { results } = await h.jobs.client.createJobs({
      jobs: [
        { type: 'test.batch', payload: { i: 1 } },
        { type: 'test.batch', payload: { i: 2 }, idempotencyKey: 'create-jobs-k' },
        { type: 'test.batch', payload: { i: 2 }, idempotencyKey: 'create-jobs-k' },
        { type: 'test.batch', payload: { i: 3 }, idempotencyKey: 'create-jobs-k' },
      ],
    });
    expect(results.map((r) => [r.status?.code, r.created])).toEqual([
      [Status.OK, true],
      [Status.OK, true],
      [Status.OK, false],
      [Status.ABORTED, false],
    ]);
    expect(results[2].job!.id).toBe(results[1].job!.id);
    expect(results[0].job!.payload).toEqual({ i: 1 });
    const info = results[3].status!.details.find((d) => d.typeUrl.endsWith('google.rpc.ErrorInfo'));
    expect(ErrorInfo.decode(info!.value).reason).toBe('IDEMPOTENCY_KEY_REUSED');
    expect((await h.eventsOf(results[0].job!.id, 1)).map((e) => e.eventType)).toEqual([
      'trellis.job.v1.JobCreated',
    ]);
    const claimed = (await claim(['test.batch'], 10)).jobs;
    await h.jobs.client.completeJobs({
      completions: claimed.map((c) => ({ jobId: c.job!.id, leaseToken: c.leaseToken })),
    });
  });

  it('rejects the whole call when one entry is invalid, naming it, and enqueues nothing', async () => {
    const before = await countOf('test.work');
    const err = await rpcError(
      h.jobs.client.createJobs({
        jobs: [
          { type: 'test.work', payload: { n: 1 } },
          { type: 'test.work', payload: { n: 'x' } },
        ],
      }),
    );
    expect(err.code).toBe(Status.INVALID_ARGUMENT);
    expect(reasonOf(err)).toBe('PAYLOAD_SCHEMA_VIOLATION');
    expect(fieldsOf(err)).toEqual(['jobs[1].payload/n']);
    expect(fieldsOf(await rpcError(h.jobs.client.createJobs({ jobs: [] })))).toEqual(['jobs']);
    expect(await countOf('test.work')).toBe(before);
  });

  it('the SDK producer batches concurrent creates; each caller gets its own job or error', async () => {
    const producer = createJobProducer({ client: h.jobs.client });
    const [batchCalls, singleCalls] = [await callsOf('CreateJobs'), await callsOf('CreateJob')];
    const first = await Promise.all(
      Array.from({ length: 10 }, (_, i) =>
        producer.createJob({ type: 'test.batch', payload: { first: i } }),
      ),
    );
    expect(first.map((r) => r.job?.payload)).toEqual(
      Array.from({ length: 10 }, (_, i) => ({ first: i })),
    );
    expect([await callsOf('CreateJobs'), await callsOf('CreateJob')]).toEqual([
      batchCalls + 1,
      singleCalls,
    ]);
    // A batch with an invalid entry is refused as a whole; each request then goes on its own.
    const outcomes = await Promise.allSettled([
      ...Array.from({ length: 20 }, (_, i) =>
        producer.createJob({ type: 'test.batch', payload: { i } }),
      ),
      producer.createJob({ type: 'test.work', payload: { n: 'x' } }),
      producer.createJob({ type: 'test.batch', payload: { a: 1 }, idempotencyKey: 'producer-k' }),
      producer.createJob({ type: 'test.batch', payload: { a: 2 }, idempotencyKey: 'producer-k' }),
    ]);
    const created = outcomes.slice(0, 20).map((o) => (o.status === 'fulfilled' ? o.value : null));
    expect(created.map((c) => c?.job?.payload)).toEqual(
      Array.from({ length: 20 }, (_, i) => ({ i })),
    );
    const invalid = (outcomes[20] as PromiseRejectedResult).reason as RichClientError;
    expect([invalid.code, fieldsOf(invalid)]).toEqual([Status.INVALID_ARGUMENT, ['payload/n']]);
    expect(outcomes[21].status).toBe('fulfilled');
    const reused = (outcomes[22] as PromiseRejectedResult).reason as RichClientError;
    expect([reused.code, reasonOf(reused)]).toEqual([Status.ABORTED, 'IDEMPOTENCY_KEY_REUSED']);
    const claimed = (await claim(['test.batch'], 100)).jobs;
    expect(claimed).toHaveLength(31);
    await h.jobs.client.completeJobs({
      completions: claimed.map((c) => ({ jobId: c.job!.id, leaseToken: c.leaseToken })),
    });
  });
});

describe('large payloads', () => {
  it('batches stay under the message size limit, and a claim of many large jobs reaches the worker', async () => {
    const producer = createJobProducer({ client: h.jobs.client });
    const big = 'x'.repeat(250_000);
    const batchCalls = await callsOf('CreateJobs');
    // 20 × 250 KB: as one CreateJobs call, more than the service's 4 MiB receive limit. The
    // producer sends them 4 per call (1 MiB of JSON at most).
    const created = await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        producer.createJob({ type: 'test.batch', payload: { i, big } }),
      ),
    );
    expect(created.every((c) => c.created)).toBe(true);
    expect(await callsOf('CreateJobs')).toBe(batchCalls + 5);
    expect(await callsOf('CreateJobs', 'RESOURCE_EXHAUSTED')).toBe(0);
    // 20 × 250 KB would not fit gRPC's usual 4 MiB limit in one ClaimJobs response: a claim
    // hands out 3 MiB of payloads at most, so even a client with grpc-js's defaults takes them.
    const channel = createChannel(h.service.grpcAddress);
    const plain = createClient(jobV1.JobServiceDefinition, channel);
    const page = await plain.listJobs({ type: 'test.batch', pageSize: 50 });
    expect([page.jobs.length, page.nextPageToken !== '']).toEqual([12, true]);
    const first = await plain.claimJobs({ workerId: 'big', types: ['test.batch'], maxJobs: 20 });
    expect(first.jobs).toHaveLength(12);
    const rest = await plain.claimJobs({ workerId: 'big', types: ['test.batch'], maxJobs: 20 });
    channel.close();
    const jobs = [...first.jobs, ...rest.jobs];
    expect(jobs.map((j) => (j.job!.payload as { i: number }).i).sort((a, b) => a - b)).toEqual(
      Array.from({ length: 20 }, (_, i) => i),
    );
    await h.jobs.client.completeJobs({
      completions: jobs.map((c) => ({ jobId: c.job!.id, leaseToken: c.leaseToken })),
    });
  });
});

describe('CompleteJobs', () => {
  const stateOf = async (id: string) => (await h.jobs.client.getJob({ jobId: id })).job!.state;

  it('completes each entry on its own and reports a lost lease for that entry only', async () => {
    await Promise.all(
      [0, 1, 2].map(() => h.jobs.client.createJob({ type: 'test.batch', payload: {} })),
    );
    const [a, b, c] = (await claim(['test.batch'], 3)).jobs;
    const { results } = await h.jobs.client.completeJobs({
      completions: [
        { jobId: a.job!.id, leaseToken: a.leaseToken, result: { n: 1 } },
        { jobId: b.job!.id, leaseToken: 'forged' },
        { jobId: c.job!.id, leaseToken: c.leaseToken },
      ],
    });
    expect(results.map((r) => [r.jobId, r.status?.code])).toEqual([
      [a.job!.id, Status.OK],
      [b.job!.id, Status.FAILED_PRECONDITION],
      [c.job!.id, Status.OK],
    ]);
    const info = results[1].status!.details.find((d) => d.typeUrl.endsWith('google.rpc.ErrorInfo'));
    expect(ErrorInfo.decode(info!.value).reason).toBe('LEASE_LOST');
    expect(await stateOf(a.job!.id)).toBe(JobState.JOB_STATE_SUCCEEDED);
    expect((await h.jobs.client.getJob({ jobId: a.job!.id })).job!.result).toEqual({ n: 1 });
    expect(await stateOf(b.job!.id)).toBe(JobState.JOB_STATE_RUNNING);
    expect(await stateOf(c.job!.id)).toBe(JobState.JOB_STATE_SUCCEEDED);
    expect((await h.eventsOf(c.job!.id, 3)).map((e) => e.eventType)).toEqual([
      'trellis.job.v1.JobCreated',
      'trellis.job.v1.JobStarted',
      'trellis.job.v1.JobSucceeded',
    ]);
    await h.jobs.client.completeJob({ jobId: b.job!.id, leaseToken: b.leaseToken });
  });

  it('buf curl prints an entry status with its ErrorInfo, resolved through reflection', async () => {
    await h.jobs.client.createJob({ type: 'test.batch', payload: {} });
    const [a] = (await claim(['test.batch'], 1)).jobs;
    const result = await bufCurl([
      '--data',
      JSON.stringify({ completions: [{ jobId: a.job!.id, leaseToken: 'forged' }] }),
      `http://${h.service.grpcAddress}/trellis.job.v1.JobService/CompleteJobs`,
    ]);
    expect(result.stderr).toBe('');
    expect(JSON.parse(result.stdout)).toMatchObject({
      results: [
        {
          jobId: a.job!.id,
          status: {
            code: Status.FAILED_PRECONDITION,
            details: [
              { '@type': 'type.googleapis.com/google.rpc.ErrorInfo', reason: 'LEASE_LOST' },
            ],
          },
        },
      ],
    });
    await h.jobs.client.completeJob({ jobId: a.job!.id, leaseToken: a.leaseToken });
  });

  it('rejects a malformed request as a whole, naming the field, and changes nothing', async () => {
    await h.jobs.client.createJob({ type: 'test.batch', payload: {} });
    const [a] = (await claim(['test.batch'], 1)).jobs;
    const valid = { jobId: a.job!.id, leaseToken: a.leaseToken };
    const empty = await rpcError(h.jobs.client.completeJobs({ completions: [] }));
    expect(empty.code).toBe(Status.INVALID_ARGUMENT);
    expect(fieldsOf(empty)).toEqual(['completions']);
    const tooMany = await rpcError(
      h.jobs.client.completeJobs({ completions: Array.from({ length: 101 }, () => valid) }),
    );
    expect(fieldsOf(tooMany)).toEqual(['completions']);
    const malformed = await rpcError(
      h.jobs.client.completeJobs({ completions: [valid, { jobId: 'x' }, valid] }),
    );
    expect(malformed.code).toBe(Status.INVALID_ARGUMENT);
    expect(fieldsOf(malformed)).toEqual([
      'completions[1].job_id',
      'completions[1].lease_token',
      'completions[2].job_id',
    ]);
    expect(await stateOf(a.job!.id)).toBe(JobState.JOB_STATE_RUNNING);
    await h.jobs.client.completeJobs({ completions: [valid] });
    expect(await stateOf(a.job!.id)).toBe(JobState.JOB_STATE_SUCCEEDED);
  });

  it('with claim_next also claims the next jobs in claim order, each with a lease and JobStarted', async () => {
    const low = await h.jobs.client.createJob({ type: 'test.batch', payload: { n: 'low' } });
    const high = await h.jobs.client.createJob({
      type: 'test.batch',
      payload: { n: 'high' },
      priority: 5,
    });
    const [a] = (await claim(['test.batch'], 1)).jobs;
    expect(a.job!.id).toBe(high.job!.id);
    const { results, claimed } = await h.jobs.client.completeJobs({
      completions: [{ jobId: a.job!.id, leaseToken: a.leaseToken }],
      claimNext: { workerId: 'next-worker', types: ['test.batch'], maxJobs: 5 },
    });
    expect(results.map((r) => r.status?.code)).toEqual([Status.OK]);
    expect(claimed.map((c) => c.job!.id)).toEqual([low.job!.id]);
    expect(claimed[0].job).toMatchObject({
      state: JobState.JOB_STATE_RUNNING,
      workerId: 'next-worker',
      attempts: 1,
    });
    expect(claimed[0].leaseToken).not.toBe('');
    expect(claimed[0].leaseExpiresAt!.getTime()).toBeGreaterThan(Date.now());
    expect((await h.eventsOf(low.job!.id, 2)).map((e) => e.eventType)).toEqual([
      'trellis.job.v1.JobCreated',
      'trellis.job.v1.JobStarted',
    ]);
    // Nothing due: the call returns at once with no jobs (claim_next never long-polls).
    const started = Date.now();
    const drained = await h.jobs.client.completeJobs({
      completions: [{ jobId: low.job!.id, leaseToken: claimed[0].leaseToken }],
      claimNext: { workerId: 'next-worker', types: ['test.batch'], maxJobs: 5 },
    });
    expect(drained.claimed).toEqual([]);
    expect(Date.now() - started).toBeLessThan(1_000);
    expect(await stateOf(low.job!.id)).toBe(JobState.JOB_STATE_SUCCEEDED);
  });

  it('rejects an invalid claim_next as a whole, naming the field: nothing completed or claimed', async () => {
    await h.jobs.client.createJob({ type: 'test.batch', payload: {} });
    await h.jobs.client.createJob({ type: 'test.batch', payload: {} });
    const [a] = (await claim(['test.batch'], 1)).jobs;
    const err = await rpcError(
      h.jobs.client.completeJobs({
        completions: [{ jobId: a.job!.id, leaseToken: a.leaseToken }],
        claimNext: { workerId: '', types: ['test.batch', 'no.such.type'], maxJobs: 500 },
      }),
    );
    expect(err.code).toBe(Status.INVALID_ARGUMENT);
    expect(fieldsOf(err)).toEqual(['claim_next.worker_id', 'claim_next.max_jobs']);
    const unknown = await rpcError(
      h.jobs.client.completeJobs({
        completions: [{ jobId: a.job!.id, leaseToken: a.leaseToken }],
        claimNext: { workerId: 'w', types: ['test.batch', 'no.such.type'] },
      }),
    );
    expect(unknown.code).toBe(Status.INVALID_ARGUMENT);
    expect(fieldsOf(unknown)).toEqual(['claim_next.types[1]']);
    expect(await stateOf(a.job!.id)).toBe(JobState.JOB_STATE_RUNNING);
    const { claimed } = await h.jobs.client.completeJobs({
      completions: [{ jobId: a.job!.id, leaseToken: a.leaseToken }],
      claimNext: { workerId: 'w', types: ['test.batch'] },
    });
    const [next] = claimed;
    expect(next.job!.state).toBe(JobState.JOB_STATE_RUNNING);
    await h.jobs.client.completeJob({ jobId: next.job!.id, leaseToken: next.leaseToken });
  });
});

describe('cancellation', () => {
  it('cancels a PENDING job at once', async () => {
    const { job } = await h.jobs.client.createJob({
      type: 'test.other',
      payload: {},
      delay: { seconds: 60n, nanos: 0 },
    });
    const cancelled = await h.jobs.client.cancelJob({ jobId: job!.id, reason: 'not needed' });
    expect(cancelled.job!.state).toBe(JobState.JOB_STATE_CANCELLED);
    const again = await h.jobs.client.cancelJob({ jobId: job!.id });
    expect(again.job!.state).toBe(JobState.JOB_STATE_CANCELLED);
    const events = await h.eventsOf(job!.id, 2);
    const last = events[events.length - 1];
    expect(last.eventType).toBe('trellis.job.v1.JobCancelled');
    expect(last.payload).toMatchObject({ reason: 'not needed', wasRunning: false });
    const revived = await h.jobs.client.retryJob({ jobId: job!.id });
    expect(revived.job!.state).toBe(JobState.JOB_STATE_PENDING);
    await h.jobs.client.cancelJob({ jobId: job!.id });
  });

  it('cancels a RUNNING job: the handler signal fires and the job ends CANCELLED', async () => {
    let abortReason: unknown;
    let started!: () => void;
    const running = new Promise<void>((resolve) => (started = resolve));
    const worker = createWorker({
      client: h.jobs.client,
      types: ['test.sdk'],
      heartbeatIntervalMs: 100,
      claimWaitMs: 1_000,
      async handler({ signal, progress }) {
        progress({ percent: 10, message: 'started' });
        started();
        await new Promise<void>((resolve) =>
          signal.addEventListener('abort', () => {
            abortReason = signal.reason;
            resolve();
          }),
        );
        throw signal.reason;
      },
    });
    try {
      const { job } = await h.jobs.client.createJob({ type: 'test.sdk', payload: {} });
      await running;
      const requested = await h.jobs.client.cancelJob({ jobId: job!.id, reason: 'stop it' });
      expect(requested.job).toMatchObject({
        state: JobState.JOB_STATE_RUNNING,
        cancelRequested: true,
      });
      const cancelled = await waitFor(async () => {
        const j = (await h.jobs.client.getJob({ jobId: job!.id })).job!;
        return j.state === JobState.JOB_STATE_CANCELLED ? j : undefined;
      });
      expect(abortReason).toBeInstanceOf(JobCancelledError);
      expect(cancelled.attempts).toBe(1);
      const last = (await h.eventsOf(job!.id, 3)).pop()!;
      expect(last.eventType).toBe('trellis.job.v1.JobCancelled');
      expect(last.payload).toMatchObject({ wasRunning: true, reason: 'stop it' });
    } finally {
      await worker.stop({ deadlineMs: 1_000 });
    }
  });

  it('a RUNNING job whose worker vanished ends CANCELLED when its lease expires', async () => {
    const { job } = await h.jobs.client.createJob({ type: 'test.sdk', payload: {} });
    await claim(['test.sdk'], 1, 5_000);
    await h.jobs.client.cancelJob({ jobId: job!.id });
    const done = await waitFor(async () => {
      const j = (await h.jobs.client.getJob({ jobId: job!.id })).job!;
      return j.state === JobState.JOB_STATE_CANCELLED ? j : undefined;
    });
    expect(done.lastError?.code).toBe('LEASE_EXPIRED');
  });
});

describe('the worker SDK', () => {
  it('stop() fails a job that outlives the deadline as retryable; another worker finishes it', async () => {
    const slow = createWorker({
      client: h.jobs.client,
      types: ['test.sdk'],
      claimWaitMs: 500,
      handler: () => new Promise(() => undefined), // never settles
    });
    const { job } = await h.jobs.client.createJob({ type: 'test.sdk', payload: {} });
    await waitFor(async () => slow.inFlight === 1);
    await slow.stop({ deadlineMs: 100 });
    const failed = (await h.jobs.client.getJob({ jobId: job!.id })).job!;
    expect(failed.lastError?.code).toBe('WORKER_SHUTDOWN');
    const fast = createWorker({
      client: h.jobs.client,
      types: ['test.sdk'],
      claimWaitMs: 500,
      handler: async ({ job }) => ({ attempt: job.attempts }),
    });
    try {
      const done = await waitFor(async () => {
        const j = (await h.jobs.client.getJob({ jobId: job!.id })).job!;
        return j.state === JobState.JOB_STATE_SUCCEEDED ? j : undefined;
      });
      expect(done.result).toEqual({ attempt: 2 });
    } finally {
      await fast.stop();
    }
  });
});

describe('queries and metrics', () => {
  it('pages ListJobs newest first and rejects a foreign page token', async () => {
    const ids: string[] = [];
    for (let i = 0; i < 5; i++)
      ids.push((await h.jobs.client.createJob({ type: 'test.other', payload: { i } })).job!.id);
    const since = (await h.jobs.client.getJob({ jobId: ids[0] })).job!.createdAt!;
    const seen: string[] = [];
    let pageToken = '';
    do {
      const page = await h.jobs.client.listJobs({
        type: 'test.other',
        createdAfter: since,
        pageSize: 2,
        pageToken,
      });
      seen.push(...page.jobs.map((j) => j.id));
      pageToken = page.nextPageToken;
    } while (pageToken);
    expect(seen).toEqual([...ids].reverse());
    const first = await h.jobs.client.listJobs({ type: 'test.other', pageSize: 1 });
    const foreign = await rpcError(
      h.jobs.client.listJobs({ type: 'test.work', pageToken: first.nextPageToken }),
    );
    expect(reasonOf(foreign)).toBe('INVALID_PAGE_TOKEN');
    expect(fieldsOf(foreign)).toEqual(['page_token']);
    const negative = await rpcError(h.jobs.client.listJobs({ pageSize: -1 }));
    expect(fieldsOf(negative)).toEqual(['page_size']);
    for (const id of ids) await h.jobs.client.cancelJob({ jobId: id });
  });

  it('refuses filters no job can match, naming the field, instead of answering an empty page', async () => {
    const now = Date.now();
    const inverted = await rpcError(
      h.jobs.client.listJobs({
        createdAfter: new Date(now),
        createdBefore: new Date(now - 60_000),
      }),
    );
    expect(inverted.code).toBe(Status.INVALID_ARGUMENT);
    expect(fieldsOf(inverted)).toEqual(['created_after']);
    expect(inverted.details).toMatch(/^created_after: must be earlier than created_before/);
    const undeclaredList = await rpcError(h.jobs.client.listJobs({ type: 'no.such.type' }));
    expect([undeclaredList.code, reasonOf(undeclaredList)]).toEqual([
      Status.INVALID_ARGUMENT,
      'UNKNOWN_JOB_TYPE',
    ]);
    expect(fieldsOf(undeclaredList)).toEqual(['type']);
    const undeclaredStats = await rpcError(
      h.jobs.client.getQueueStats({ types: ['test.other', 'no.such.type'] }),
    );
    expect([undeclaredStats.code, reasonOf(undeclaredStats)]).toEqual([
      Status.INVALID_ARGUMENT,
      'UNKNOWN_JOB_TYPE',
    ]);
    expect(fieldsOf(undeclaredStats)).toEqual(['types[1]']);
  });

  it('reports queue stats and Prometheus metrics', async () => {
    const { job } = await h.jobs.client.createJob({ type: 'test.other', payload: {} });
    const { stats } = await h.jobs.client.getQueueStats({ types: ['test.other'] });
    expect(stats).toHaveLength(1);
    expect(stats[0].due).toBe(1n);
    expect(stats[0].pending).toBe(1n);
    expect(stats[0].oldestPendingAge).toBeDefined();
    expect(stats[0].succeeded).toBeGreaterThan(0n);
    await h.jobs.client.cancelJob({ jobId: job!.id });
    const text = await (await fetch(h.service.metricsUrl)).text();
    expect(text).toMatch(/job_queue_depth\{[^}]*type="test.other"[^}]*state="CANCELLED"/);
    expect(text).toContain('job_claim_latency_seconds_bucket');
    expect(text).toContain('job_run_duration_seconds_bucket');
    expect(text).toMatch(/job_outcomes_total\{[^}]*outcome="succeeded"/);
  });

  it('publishes every committed event to job.events.v1 through the outbox relay', async () => {
    await waitFor(
      async () => (await h.service.context.mongo.db.collection('outbox').countDocuments({})) === 0,
      { what: 'the outbox to drain' },
    );
    const types = new Set(h.events.map((e) => e.event.eventType));
    expect([...types].sort()).toEqual([
      'trellis.job.v1.JobCancelled',
      'trellis.job.v1.JobCreated',
      'trellis.job.v1.JobDeadLettered',
      'trellis.job.v1.JobFailed',
      'trellis.job.v1.JobStarted',
      'trellis.job.v1.JobSucceeded',
    ]);
  });
});
