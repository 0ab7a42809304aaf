import { Status } from 'nice-grpc';
import { jobV1 } from '@trellis/contracts';
import { createWorker } from '@trellis/job-worker';
import { createGrpcClient, type GrpcClientHandle } from '@trellis/platform/grpc';
import type { RunningService } from '@trellis/platform/runtime';
import { captureLogger, waitFor } from '@trellis/platform/testing';
import { startJobService } from '@trellis/job-service';
import { loadServiceConfig } from '../src/config';
import { startHarness, TEST_JOB_TYPES, type Harness } from './harness';
import { fieldsOf, reasonOf, rpcError } from './rpc-errors';

const { JobState } = jobV1;
type JobClient = GrpcClientHandle<typeof jobV1.JobServiceDefinition>;
let h: Harness;

beforeAll(async () => {
  h = await startHarness('job_logs_types_test', {
    JOB_TYPES_REFRESH_MS: '100',
    JOB_TYPES_REFRESH_MAX_MS: '100',
  });
});
afterAll(async () => {
  await h?.stop();
});

/** Another job-service replica on the same MongoDB and Kafka, with `env` over the harness's. */
async function startReplica(
  env: Record<string, string> = {},
): Promise<{ service: RunningService; jobs: JobClient; stop(): Promise<void> }> {
  const { logger } = captureLogger('job-service-replica');
  const service = await startJobService(loadServiceConfig({ ...h.env, ...env }), { logger });
  const jobs = createGrpcClient(jobV1.JobServiceDefinition, { address: service.grpcAddress });
  return {
    service,
    jobs,
    async stop() {
      jobs.close();
      await service.stop();
    },
  };
}

const schemaOf = (required: string) => ({
  type: 'object',
  required: [required],
  properties: { [required]: { type: 'string' } },
});

async function claimOne(client: JobClient['client'], type: string) {
  const { jobs } = await client.claimJobs({
    workerId: 'logs-test',
    types: [type],
    maxJobs: 1,
    wait: { seconds: 5n, nanos: 0 },
  });
  expect(jobs).toHaveLength(1);
  return jobs[0];
}

describe('job types at run time', () => {
  it('a type registered on one replica is used on the other; an update reaches both', async () => {
    const b = await startReplica();
    try {
      const { jobType } = await h.jobs.client.registerJobType({
        jobType: {
          name: 'runtime.report',
          description: 'Renders a report',
          payloadSchema: schemaOf('report_id'),
          defaultMaxAttempts: 7,
          workers: ['reports'],
          maxLogLines: 50,
        },
      });
      expect(jobType).toMatchObject({
        name: 'runtime.report',
        defaultMaxAttempts: 7,
        maxPayloadBytes: 256 * 1024,
        defaultLeaseDuration: { seconds: 60n, nanos: 0 },
        workers: ['reports'],
        maxLogLines: 50,
        source: 'api',
      });
      expect(jobType!.revision).toBeGreaterThan(0n);
      // The registering replica uses it at once.
      const here = await h.jobs.client.createJob({
        type: 'runtime.report',
        payload: { report_id: 'r1' },
      });
      expect(here.job!.maxAttempts).toBe(7);
      // The other one within its refresh interval.
      const there = await waitFor(() =>
        b.jobs.client
          .createJob({ type: 'runtime.report', payload: { report_id: 'r2' } })
          .catch(() => undefined),
      );
      expect(there.job).toMatchObject({ type: 'runtime.report', maxAttempts: 7 });

      // Updated on B (on the revision it read): A validates against the new schema soon after.
      const listed = (await b.jobs.client.listJobTypes({})).jobTypes.find(
        (t) => t.name === 'runtime.report',
      )!;
      expect(listed.revision).toBe(jobType!.revision);
      const { jobType: updated } = await b.jobs.client.updateJobType({
        jobType: { ...listed, payloadSchema: schemaOf('report_name'), defaultMaxAttempts: 2 },
        expectedRevision: listed.revision,
      });
      expect(updated!.revision).toBeGreaterThan(listed.revision);
      await waitFor(() =>
        h.jobs.client
          .createJob({ type: 'runtime.report', payload: { report_name: 'n' } })
          .catch(() => undefined),
      );
      const old = await rpcError(
        h.jobs.client.createJob({ type: 'runtime.report', payload: { report_id: 'r3' } }),
      );
      expect(reasonOf(old)).toBe('PAYLOAD_SCHEMA_VIOLATION');

      // An update based on an older revision is refused.
      const stale = await rpcError(
        h.jobs.client.updateJobType({ jobType: listed, expectedRevision: listed.revision }),
      );
      expect(stale.code).toBe(Status.ABORTED);
      expect(reasonOf(stale)).toBe('REVISION_MISMATCH');
    } finally {
      await b.stop();
    }
  });

  it('JOB_TYPES seeds the catalog; a restart with an older JOB_TYPES leaves API changes alone', async () => {
    // test.other is from JOB_TYPES (source config); change it through the API.
    const before = (await h.jobs.client.listJobTypes({})).jobTypes.find(
      (t) => t.name === 'test.other',
    )!;
    expect(before.source).toBe('config');
    await h.jobs.client.updateJobType({ jobType: { ...before, maxPayloadBytes: 4096 } });
    // A replica started with JOB_TYPES where test.other has other limits, and test.bulk too.
    const changed = TEST_JOB_TYPES.map((t) =>
      t.name === 'test.other' || t.name === 'test.bulk' ? { ...t, max_attempts: 9 } : t,
    );
    const c = await startReplica({ JOB_TYPES: JSON.stringify(changed) });
    try {
      const types = (await c.jobs.client.listJobTypes({})).jobTypes;
      // Changed through the API: kept as it is.
      expect(types.find((t) => t.name === 'test.other')).toMatchObject({
        source: 'api',
        maxPayloadBytes: 4096,
        defaultMaxAttempts: 3,
      });
      // Still from the configuration: follows it, on every replica.
      expect(types.find((t) => t.name === 'test.bulk')).toMatchObject({
        source: 'config',
        defaultMaxAttempts: 9,
      });
      await waitFor(async () => {
        const seen = (await h.jobs.client.listJobTypes({})).jobTypes;
        return seen.find((t) => t.name === 'test.bulk')?.defaultMaxAttempts === 9;
      });
    } finally {
      await c.stop();
    }
  });

  it('refuses invalid definitions at the edge, naming the field', async () => {
    const register = (jobType: Partial<jobV1.JobType>) =>
      rpcError(
        h.jobs.client.registerJobType({
          jobType: { name: 'runtime.bad', payloadSchema: { type: 'object' }, ...jobType },
        }),
      );
    const cases: Array<[Partial<jobV1.JobType>, string]> = [
      [{ payloadSchema: { type: 'objekt' } }, 'job_type.payload_schema'],
      [{ payloadSchema: { type: 'object', requird: ['a'] } }, 'job_type.payload_schema'],
      [{ defaultMaxAttempts: -1 }, 'job_type.default_max_attempts'],
      [{ maxLogLines: -3 }, 'job_type.max_log_lines'],
      [{ name: 'Not A Name' }, 'job_type.name'],
      [{ defaultLeaseDuration: { seconds: -5n, nanos: 0 } }, 'job_type.default_lease_duration'],
      [{ succeededRetention: { maxCount: -1n } }, 'job_type.succeeded_retention.max_count'],
      [
        { deadRetention: { maxAge: { seconds: -1n, nanos: 0 }, maxCount: 0n } },
        'job_type.dead_retention.max_age',
      ],
    ];
    for (const [jobType, field] of cases) {
      const err = await register(jobType);
      expect(err.code).toBe(Status.INVALID_ARGUMENT);
      expect(fieldsOf(err)).toEqual([field]);
    }
    const missing = await rpcError(h.jobs.client.registerJobType({}));
    expect(fieldsOf(missing)).toEqual(['job_type.name', 'job_type.payload_schema']);
    const taken = await rpcError(
      h.jobs.client.registerJobType({ jobType: { name: 'test.work', payloadSchema: {} } }),
    );
    expect(taken.code).toBe(Status.ALREADY_EXISTS);
    const unknown = await rpcError(
      h.jobs.client.updateJobType({ jobType: { name: 'runtime.none', payloadSchema: {} } }),
    );
    expect(unknown.code).toBe(Status.NOT_FOUND);
  });
});

describe('job logs', () => {
  beforeAll(async () => {
    await h.jobs.client.registerJobType({
      jobType: { name: 'logs.small', payloadSchema: { type: 'object' }, maxLogLines: 5 },
    });
  });

  it('the SDK sends job.log lines under the lease, before the completion', async () => {
    const { job } = await h.jobs.client.createJob({ type: 'test.batch', payload: { n: 1 } });
    const worker = createWorker({
      client: h.jobs.client,
      types: ['test.batch'],
      claimWaitMs: 500,
      logFlushIntervalMs: 50,
      async handler({ log }) {
        for (let i = 1; i <= 150; i++) log(`step ${i}`);
        return { ok: true };
      },
    });
    try {
      await waitFor(async () => {
        const j = (await h.jobs.client.getJob({ jobId: job!.id })).job!;
        return j.state === JobState.JOB_STATE_SUCCEEDED;
      });
    } finally {
      await worker.stop();
    }
    // Sent before the outcome: all there once the job is SUCCEEDED. Paged, oldest first.
    const first = await h.jobs.client.listJobLogs({ jobId: job!.id, pageSize: 100 });
    expect(first.lines).toHaveLength(100);
    expect(first.lines[0]).toMatchObject({ seq: 1n, message: 'step 1', attempt: 1 });
    const second = await h.jobs.client.listJobLogs({
      jobId: job!.id,
      pageSize: 100,
      pageToken: first.nextPageToken,
    });
    expect(second.lines.map((l) => l.message)).toEqual(
      Array.from({ length: 50 }, (_, i) => `step ${i + 101}`),
    );
    expect(second.nextPageToken).toBe('');
    expect(second.droppedLines).toBe(0n);
  });

  it('keeps the newest lines within the type bound, counting the dropped ones', async () => {
    const { job } = await h.jobs.client.createJob({ type: 'logs.small', payload: {} });
    const claimed = await claimOne(h.jobs.client, 'logs.small');
    const lines = (from: number, to: number) =>
      Array.from({ length: to - from + 1 }, (_, i) => ({ message: `line ${from + i}` }));
    await h.jobs.client.appendJobLogs({
      jobId: job!.id,
      leaseToken: claimed.leaseToken,
      lines: lines(1, 4),
    });
    const appended = await h.jobs.client.appendJobLogs({
      jobId: job!.id,
      leaseToken: claimed.leaseToken,
      lines: lines(5, 8),
    });
    expect(appended).toEqual({ lineCount: 5n, droppedLines: 3n });
    const page = await h.jobs.client.listJobLogs({ jobId: job!.id });
    expect(page.lines.map((l) => [l.seq, l.message])).toEqual([
      [4n, 'line 4'],
      [5n, 'line 5'],
      [6n, 'line 6'],
      [7n, 'line 7'],
      [8n, 'line 8'],
    ]);
    expect(page.droppedLines).toBe(3n);
  });

  it('a worker that lost its lease writes nothing (LEASE_LOST)', async () => {
    const { job } = await h.jobs.client.createJob({ type: 'test.sdk', payload: {} });
    const first = await claimOne(h.jobs.client, 'test.sdk');
    // test.sdk has a 1 s lease: it expires, the job is claimed again with a new token.
    const second = await waitFor(() =>
      h.jobs.client
        .claimJobs({ workerId: 'second', types: ['test.sdk'], maxJobs: 1 })
        .then((r) => r.jobs[0]),
    );
    expect(second.job!.id).toBe(job!.id);
    const lost = await rpcError(
      h.jobs.client.appendJobLogs({
        jobId: job!.id,
        leaseToken: first.leaseToken,
        lines: [{ message: 'from the old worker' }],
      }),
    );
    expect(lost.code).toBe(Status.FAILED_PRECONDITION);
    expect(reasonOf(lost)).toBe('LEASE_LOST');
    await h.jobs.client.appendJobLogs({
      jobId: job!.id,
      leaseToken: second.leaseToken,
      lines: [{ message: 'from the new worker' }],
    });
    const { lines } = await h.jobs.client.listJobLogs({ jobId: job!.id });
    expect(lines.map((l) => [l.message, l.attempt])).toEqual([['from the new worker', 2]]);
  });

  it('validates requests and answers NOT_FOUND for an unknown job', async () => {
    const id = '00000000-0000-4000-8000-000000000000';
    const none = await rpcError(h.jobs.client.listJobLogs({ jobId: id }));
    expect(none.code).toBe(Status.NOT_FOUND);
    const noLines = await rpcError(
      h.jobs.client.appendJobLogs({ jobId: id, leaseToken: 't', lines: [] }),
    );
    expect(fieldsOf(noLines)).toEqual(['lines']);
    const badToken = await rpcError(h.jobs.client.listJobLogs({ jobId: id, pageToken: 'x!' }));
    expect(fieldsOf(badToken)).toEqual(['page_token']);
    const notFound = await rpcError(
      h.jobs.client.appendJobLogs({ jobId: id, leaseToken: 't', lines: [{ message: 'a' }] }),
    );
    expect(notFound.code).toBe(Status.NOT_FOUND);
  });
});
