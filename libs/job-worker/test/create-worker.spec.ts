import { ClientError, Status } from 'nice-grpc-common';
import { jobV1 } from '@trellis/contracts';
import { captureLogger, waitFor } from '@trellis/platform/testing';
import {
  createWorker,
  JobCancelledError,
  JobFailure,
  LeaseLostError,
  type JobServiceClient,
  type WorkerCallOptions,
} from '../src';

/** An in-memory JobService fake: hands out queued jobs and records worker calls. */
function fakeService() {
  const queue: jobV1.Job[] = [];
  /** `complete` entries name the RPC that carried them. */
  const calls: Array<{ method: string; request: Record<string, unknown>; rpc?: string }> = [];
  const state = {
    cancel: new Set<string>(),
    lost: new Set<string>(),
    /** Refuse CompleteJobs with this status (UNIMPLEMENTED: a job-service that predates it). */
    batchRpcRefusal: undefined as Status | undefined,
    /** Job id → the RPC that handed it out. */
    handedOutBy: {} as Record<string, string>,
    /** Job id → the children a flow parent is claimed with. */
    children: {} as Record<string, jobV1.Job[]>,
    /** While set, CompleteJobs calls are recorded but answered only once it resolves. */
    completeGate: undefined as Promise<void> | undefined,
    /** The next this many CompleteJob(s) calls fail with UNAVAILABLE (the service is away). */
    completesUnreachable: 0,
  };
  const unreachable = (path: string) => {
    if (state.completesUnreachable <= 0) return;
    state.completesUnreachable--;
    throw new ClientError(path, Status.UNAVAILABLE, 'connect ECONNREFUSED');
  };
  const client: JobServiceClient = {
    async claimJobs(request, options?: WorkerCallOptions) {
      calls.push({ method: 'claim', request: { ...request } });
      const jobs = queue.splice(0, request.maxJobs ?? 1);
      for (const job of jobs) state.handedOutBy[job.id] = 'ClaimJobs';
      if (jobs.length === 0) {
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, 50);
          options?.signal?.addEventListener('abort', () => {
            clearTimeout(timer);
            resolve();
          });
        });
        if (options?.signal?.aborted) throw new Error('aborted');
      }
      return {
        jobs: jobs.map((job) => ({
          job,
          leaseToken: `tok-${job.id}`,
          children: state.children[job.id] ?? [],
        })),
      };
    },
    async heartbeatJob(request) {
      calls.push({ method: 'heartbeat', request: { ...request } });
      if (state.lost.has(request.jobId!))
        throw new ClientError('/HeartbeatJob', Status.FAILED_PRECONDITION, 'lease lost');
      return { cancelRequested: state.cancel.has(request.jobId!) };
    },
    async completeJob(request) {
      unreachable('/CompleteJob');
      calls.push({ method: 'complete', request: { ...request }, rpc: 'CompleteJob' });
      return {};
    },
    async completeJobs(request) {
      const completions = request.completions ?? [];
      calls.push({
        method: 'completeJobs',
        request: {
          jobIds: completions.map((c) => c.jobId),
          ...(request.claimNext && { claimNext: request.claimNext.maxJobs }),
        },
      });
      await state.completeGate;
      unreachable('/CompleteJobs');
      if (state.batchRpcRefusal !== undefined)
        throw new ClientError('/CompleteJobs', state.batchRpcRefusal, 'refused');
      for (const completion of completions)
        calls.push({ method: 'complete', request: completion, rpc: 'CompleteJobs' });
      const next = request.claimNext ? queue.splice(0, request.claimNext.maxJobs ?? 1) : [];
      for (const job of next) state.handedOutBy[job.id] = 'CompleteJobs';
      return {
        claimed: next.map((job) => ({
          job,
          leaseToken: `tok-${job.id}`,
          children: state.children[job.id] ?? [],
        })),
        results: completions.map(({ jobId }) =>
          state.lost.has(jobId!)
            ? {
                jobId: jobId!,
                status: { code: Status.FAILED_PRECONDITION, message: 'lease lost', details: [] },
              }
            : { jobId: jobId!, status: { code: Status.OK, message: '', details: [] } },
        ),
      };
    },
    async failJob(request) {
      calls.push({ method: 'fail', request: { ...request } });
      return { willRetry: Boolean(request.retryable) };
    },
  };
  const add = (id: string) =>
    queue.push(
      jobV1.Job.fromPartial({
        id,
        type: 't',
        attempts: 1,
        payload: { id },
        leaseDuration: { seconds: 1n, nanos: 0 },
      }),
    );
  return { client, calls, add, state };
}

const { logger } = captureLogger('job-worker-test');

/**
 * A handler recording the jobs it ran (in order) and the most it ran at once; the n-th job it
 * starts (from 1) waits for `release()` when `gated(n)` says so.
 */
function gatedHandler(gated: (n: number) => boolean) {
  const { opened, open: release } = gate();
  const ran: string[] = [];
  const most = { atOnce: 0 };
  let running = 0;
  const handler = async ({ job }: { job: jobV1.Job }) => {
    most.atOnce = Math.max(most.atOnce, ++running);
    if (gated(ran.push(job.id))) await opened;
    running--;
  };
  return { handler, release, ran, most };
}

/** A promise (`opened`) that resolves when `open()` is called. */
function gate() {
  let open!: () => void;
  const opened = new Promise<void>((resolve) => (open = resolve));
  return { opened, open };
}

describe('createWorker', () => {
  it('hands a flow parent its children and the results of those that succeeded, by child id', async () => {
    const svc = fakeService();
    svc.add('parent');
    svc.state.children.parent = [
      jobV1.Job.fromPartial({
        id: 'c1',
        parentId: 'parent',
        state: jobV1.JobState.JOB_STATE_SUCCEEDED,
        result: { rows: 3 },
      }),
      jobV1.Job.fromPartial({ id: 'c2', parentId: 'parent', state: jobV1.JobState.JOB_STATE_DEAD }),
    ];
    svc.add('leaf');
    const seen: Record<string, { children: string[]; results: unknown }> = {};
    const worker = createWorker({
      client: svc.client,
      types: ['t'],
      concurrency: 2,
      logger,
      async handler({ job, children, childrenResults }) {
        seen[job.id] = { children: children.map((c) => c.id), results: childrenResults };
      },
    });
    await waitFor(() => Object.keys(seen).length === 2);
    await worker.stop();
    expect(seen).toEqual({
      parent: { children: ['c1', 'c2'], results: { c1: { rows: 3 } } },
      leaf: { children: [], results: {} },
    });
  });

  it('completes with the handler result and reports failures as retryable unless told not to', async () => {
    const svc = fakeService();
    svc.add('ok');
    svc.add('boom');
    svc.add('fatal');
    const worker = createWorker({
      client: svc.client,
      types: ['t'],
      concurrency: 3,
      logger,
      async handler({ job }) {
        if (job.id === 'boom') throw new Error('transient');
        if (job.id === 'fatal')
          throw new JobFailure('bad input', { retryable: false, code: 'BAD' });
        return { echoed: job.payload?.id };
      },
    });
    await waitFor(
      () => svc.calls.filter((c) => c.method === 'complete' || c.method === 'fail').length === 3,
    );
    await worker.stop();
    const byJob = Object.fromEntries(
      svc.calls
        .filter((c) => c.method === 'complete' || c.method === 'fail')
        .map((c) => [c.request.jobId, c]),
    );
    expect(byJob.ok).toMatchObject({
      method: 'complete',
      request: { leaseToken: 'tok-ok', result: { echoed: 'ok' } },
    });
    expect(byJob.boom).toMatchObject({
      method: 'fail',
      request: { retryable: true, errorMessage: 'transient' },
    });
    expect(byJob.fatal).toMatchObject({
      method: 'fail',
      request: { retryable: false, errorCode: 'BAD' },
    });
    // Never more than `concurrency` jobs asked for.
    expect(
      svc.calls.filter((c) => c.method === 'claim').every((c) => Number(c.request.maxJobs) <= 3),
    ).toBe(true);
  });

  it('reports the jobs that finish together in one CompleteJobs call, each with its own outcome', async () => {
    const svc = fakeService();
    for (const id of ['a', 'b', 'c', 'd', 'gone']) svc.add(id);
    svc.state.lost.add('gone');
    const lines: Array<Record<string, unknown>> = [];
    const worker = createWorker({
      client: svc.client,
      types: ['t'],
      concurrency: 5,
      logger: captureLogger('job-worker-test', { lines, raw: [] }).logger,
      async handler() {
        return { ok: true };
      },
    });
    await waitFor(() => svc.calls.filter((c) => c.method === 'complete').length === 5);
    await worker.stop();
    expect(svc.calls.filter((c) => c.method === 'completeJobs')).toEqual([
      { method: 'completeJobs', request: { jobIds: ['a', 'b', 'c', 'd', 'gone'], claimNext: 5 } },
    ]);
    expect(svc.calls.some((c) => c.rpc === 'CompleteJob')).toBe(false);
    // Only the entry whose lease was lost is reported as not completed.
    const unreported = lines.filter(
      (l) => l.msg === 'could not report the job outcome; its lease will expire',
    );
    expect(unreported.map((l) => l.job_id)).toEqual(['gone']);
  });

  it('refills the slots a CompleteJobs call frees with the jobs it claims (claim_next)', async () => {
    const svc = fakeService();
    for (const id of ['a', 'b', 'c']) svc.add(id);
    const { handler, release, ran, most } = gatedHandler((n) => n <= 3);
    const worker = createWorker({
      client: svc.client,
      types: ['t'],
      concurrency: 3,
      logger,
      handler,
    });
    await waitFor(() => ran.length === 3);
    for (const id of ['d', 'e', 'f']) svc.add(id);
    release();
    await waitFor(() => svc.calls.filter((c) => c.method === 'complete').length === 6);
    await worker.stop();
    // d, e and f came back with the completions of a, b and c, not from ClaimJobs.
    expect(ran).toEqual(['a', 'b', 'c', 'd', 'e', 'f']);
    expect(svc.calls.filter((c) => c.method === 'completeJobs')[0]).toEqual({
      method: 'completeJobs',
      request: { jobIds: ['a', 'b', 'c'], claimNext: 3 },
    });
    expect(svc.state.handedOutBy).toEqual({
      a: 'ClaimJobs',
      b: 'ClaimJobs',
      c: 'ClaimJobs',
      d: 'CompleteJobs',
      e: 'CompleteJobs',
      f: 'CompleteJobs',
    });
    expect(most.atOnce).toBeLessThanOrEqual(3);
  });

  it.each([
    ['the service has no CompleteJobs', Status.UNIMPLEMENTED],
    ['the caller may not call CompleteJobs', Status.PERMISSION_DENIED],
  ])('falls back to one CompleteJob per job when %s', async (_, refusal) => {
    const svc = fakeService();
    svc.state.batchRpcRefusal = refusal;
    for (const id of ['a', 'b', 'c']) svc.add(id);
    const worker = createWorker({
      client: svc.client,
      types: ['t'],
      concurrency: 3,
      logger,
      async handler() {},
    });
    await waitFor(() => svc.calls.filter((c) => c.rpc === 'CompleteJob').length === 3);
    svc.add('d');
    svc.add('e');
    await waitFor(() => svc.calls.filter((c) => c.rpc === 'CompleteJob').length === 5);
    await worker.stop();
    expect(svc.calls.filter((c) => c.rpc === 'CompleteJob').map((c) => c.request.jobId)).toEqual([
      'a',
      'b',
      'c',
      'd',
      'e',
    ]);
    // Asked once; after UNIMPLEMENTED the worker no longer tries CompleteJobs.
    expect(svc.calls.filter((c) => c.method === 'completeJobs')).toHaveLength(1);
  });

  it('keeps each CompleteJobs call within 1 MiB of results', async () => {
    const svc = fakeService();
    for (const id of ['a', 'b', 'c', 'd', 'e']) svc.add(id);
    const worker = createWorker({
      client: svc.client,
      types: ['t'],
      concurrency: 5,
      logger,
      async handler() {
        return { report: 'x'.repeat(400_000) };
      },
    });
    await waitFor(() => svc.calls.filter((c) => c.method === 'complete').length === 5);
    await worker.stop();
    // 400 KB each: two fit in 1 MiB; the fifth goes alone, through CompleteJob.
    expect(
      svc.calls.filter((c) => c.method === 'completeJobs').map((c) => c.request.jobIds),
    ).toEqual([
      ['a', 'b'],
      ['c', 'd'],
    ]);
    expect(svc.calls.filter((c) => c.rpc === 'CompleteJob').map((c) => c.request.jobId)).toEqual([
      'e',
    ]);
  });

  it('heartbeats with progress and aborts the signal on cancellation and on a lost lease', async () => {
    const svc = fakeService();
    svc.add('cancel-me');
    svc.add('lose-me');
    const reasons: Record<string, unknown> = {};
    const worker = createWorker({
      client: svc.client,
      types: ['t'],
      concurrency: 2,
      heartbeatIntervalMs: 100,
      logger,
      async handler({ job, signal, progress }) {
        progress({ percent: 50, message: 'half', counters: { sent: 3 } });
        await new Promise<void>((resolve) => signal.addEventListener('abort', () => resolve()));
        reasons[job.id] = signal.reason;
        throw signal.reason;
      },
    });
    await waitFor(() => svc.calls.some((c) => c.method === 'heartbeat' && c.request.progress));
    const beat = svc.calls.find((c) => c.method === 'heartbeat' && c.request.progress)!;
    expect(beat.request.progress).toEqual({ percent: 50, message: 'half', counters: { sent: 3n } });
    svc.state.cancel.add('cancel-me');
    svc.state.lost.add('lose-me');
    await waitFor(() => reasons['cancel-me'] && reasons['lose-me']);
    await worker.stop();
    expect(reasons['cancel-me']).toBeInstanceOf(JobCancelledError);
    expect(reasons['lose-me']).toBeInstanceOf(LeaseLostError);
    const outcomes = svc.calls.filter((c) => c.method === 'fail' || c.method === 'complete');
    // The cancelled job is acknowledged with FailJob; nothing is reported for the lost lease.
    expect(outcomes).toEqual([
      {
        method: 'fail',
        request: expect.objectContaining({ jobId: 'cancel-me', errorCode: 'CANCELLED' }),
      },
    ]);
  });

  it('stop() waits for running jobs up to the deadline, then fails them as retryable', async () => {
    const svc = fakeService();
    svc.add('quick');
    svc.add('stuck');
    const { opened: quickDone, open: release } = gate();
    const worker = createWorker({
      client: svc.client,
      types: ['t'],
      concurrency: 2,
      logger,
      handler: ({ job }) =>
        job.id === 'quick' ? quickDone.then(() => ({})) : new Promise(() => undefined),
    });
    await waitFor(() => worker.inFlight === 2);
    const stopping = worker.stop({ deadlineMs: 200 });
    release();
    await stopping;
    const outcomes = svc.calls.filter((c) => c.method === 'fail' || c.method === 'complete');
    expect(outcomes.map((c) => [c.method, c.request.jobId, c.request.errorCode])).toEqual([
      ['complete', 'quick', undefined],
      ['fail', 'stuck', 'WORKER_SHUTDOWN'],
    ]);
    const claimsAfterStop = svc.calls.filter((c) => c.method === 'claim').length;
    await new Promise((resolve) => setImmediate(resolve));
    expect(svc.calls.filter((c) => c.method === 'claim').length).toBe(claimsAfterStop);
  });

  it('sends a completion again when the service was unreachable, and runs the job once', async () => {
    const svc = fakeService();
    svc.add('a');
    svc.state.completesUnreachable = 2;
    const ran: string[] = [];
    const worker = createWorker({
      client: svc.client,
      types: ['t'],
      logger,
      handler: async ({ job }) => void ran.push(job.id),
    });
    await waitFor(() => svc.calls.some((c) => c.method === 'complete'));
    await worker.stop();
    expect(ran).toEqual(['a']);
    expect(svc.calls.filter((c) => c.method === 'complete').map((c) => c.request.jobId)).toEqual([
      'a',
    ]);
    expect(svc.state.completesUnreachable).toBe(0);
    expect(svc.calls.some((c) => c.method === 'fail')).toBe(false);
  });

  it('stop() hands back unfinished jobs, not one whose completion is being retried', async () => {
    const svc = fakeService();
    svc.add('done');
    svc.add('stuck');
    svc.state.completesUnreachable = Number.POSITIVE_INFINITY;
    const capture = captureLogger('job-worker-test');
    const worker = createWorker({
      client: svc.client,
      types: ['t'],
      concurrency: 2,
      logger: capture.logger,
      handler: ({ job }) =>
        job.id === 'done' ? Promise.resolve({}) : new Promise(() => undefined),
    });
    await waitFor(() =>
      capture.lines.some((l) => l.msg === 'could not report the job outcome; retrying'),
    );
    await worker.stop({ deadlineMs: 100 });
    expect(
      svc.calls
        .filter((c) => c.method === 'fail')
        .map((c) => [c.request.jobId, c.request.errorCode]),
    ).toEqual([['stuck', 'WORKER_SHUTDOWN']]);
    await waitFor(() =>
      capture.lines.some(
        (l) =>
          l.msg === 'could not report the job outcome; its lease will expire' &&
          l.job_id === 'done',
      ),
    );
  });

  it('with prefetch, claims ahead of its slots and starts the waiting jobs as slots free', async () => {
    const svc = fakeService();
    for (const id of ['a', 'b', 'c', 'd']) svc.add(id);
    const { handler, release, ran, most } = gatedHandler(() => true);
    const worker = createWorker({
      client: svc.client,
      types: ['t'],
      concurrency: 2,
      prefetch: 2,
      heartbeatIntervalMs: 100,
      logger,
      handler,
    });
    await waitFor(() => worker.inFlight === 2 && worker.waiting === 2);
    expect(svc.calls.find((c) => c.method === 'claim')?.request.maxJobs).toBe(4);
    // The waiting jobs' leases are kept from their claim on.
    await waitFor(() =>
      ['c', 'd'].every((id) =>
        svc.calls.some((c) => c.method === 'heartbeat' && c.request.jobId === id),
      ),
    );
    expect(ran).toEqual(['a', 'b']);
    release();
    await waitFor(() => svc.calls.filter((c) => c.method === 'complete').length === 4);
    await worker.stop();
    expect(ran).toEqual(['a', 'b', 'c', 'd']);
    expect(most.atOnce).toBe(2);
  });

  it.each([
    [
      'one slot-full, two calls',
      2,
      [
        ['a', 'b'],
        ['c', 'd'],
      ],
    ],
    [
      'two slot-fulls, three calls',
      4,
      [
        ['a', 'b'],
        ['c', 'd'],
        ['e', 'f'],
      ],
    ],
  ])(
    'with prefetch of %s: the waiting jobs report while earlier CompleteJobs calls are unanswered',
    async (_, prefetch, batches) => {
      const svc = fakeService();
      for (const id of batches.flat()) svc.add(id);
      const { opened: answersMayGo, open } = gate();
      svc.state.completeGate = answersMayGo;
      // Batch k (from 1) finishes once the call of batch k - 1 went out, so none shares a call.
      const afterCall = batches.map(() => gate());
      const completeJobsCalls = () =>
        svc.calls.filter((c) => c.method === 'completeJobs').map((c) => c.request);
      const worker = createWorker({
        client: svc.client,
        types: ['t'],
        concurrency: 2,
        prefetch,
        logger,
        async handler({ job }) {
          const batch = batches.findIndex((ids) => ids.includes(job.id));
          if (batch > 0) await afterCall[batch - 1].opened;
        },
      });
      for (let k = 1; k <= batches.length; k++) {
        // Without prefetch a call would wait for the previous one's answer.
        await waitFor(() => completeJobsCalls().length === k);
        afterCall[k - 1].open();
      }
      expect(completeJobsCalls()).toEqual(batches.map((jobIds) => ({ jobIds, claimNext: 2 })));
      svc.state.completeGate = undefined;
      open();
      await waitFor(
        () => svc.calls.filter((c) => c.method === 'complete').length === batches.flat().length,
      );
      await worker.stop();
    },
  );

  it('does not run a prefetched job cancelled while it waited, and reports it cancelled', async () => {
    const svc = fakeService();
    svc.add('a');
    svc.add('b');
    const { opened: aDone, open: release } = gate();
    const ran: string[] = [];
    const worker = createWorker({
      client: svc.client,
      types: ['t'],
      concurrency: 1,
      prefetch: 1,
      heartbeatIntervalMs: 100,
      logger,
      async handler({ job }) {
        ran.push(job.id);
        if (job.id === 'a') await aDone;
      },
    });
    await waitFor(() => worker.waiting === 1);
    svc.state.cancel.add('b');
    await waitFor(() => svc.calls.some((c) => c.method === 'heartbeat' && c.request.jobId === 'b'));
    release();
    await waitFor(() => svc.calls.some((c) => c.method === 'fail'));
    await worker.stop();
    expect(ran).toEqual(['a']);
    expect(
      svc.calls
        .filter((c) => c.method === 'fail' || c.method === 'complete')
        .map((c) => [c.method, c.request.jobId, c.request.errorCode])
        .sort(),
    ).toEqual([
      ['complete', 'a', undefined],
      ['fail', 'b', 'CANCELLED'],
    ]);
  });

  it('stop() hands back the prefetched jobs that never started with the running ones', async () => {
    const svc = fakeService();
    svc.add('stuck');
    svc.add('next');
    const ran: string[] = [];
    const worker = createWorker({
      client: svc.client,
      types: ['t'],
      concurrency: 1,
      prefetch: 1,
      logger,
      handler: ({ job }) => {
        ran.push(job.id);
        return new Promise(() => undefined);
      },
    });
    await waitFor(() => worker.inFlight === 1 && worker.waiting === 1);
    await worker.stop({ deadlineMs: 100 });
    expect(ran).toEqual(['stuck']);
    expect(worker.waiting).toBe(0);
    expect(
      svc.calls
        .filter((c) => c.method === 'fail')
        .map((c) => [c.request.jobId, c.request.errorCode])
        .sort(),
    ).toEqual([
      ['next', 'WORKER_SHUTDOWN'],
      ['stuck', 'WORKER_SHUTDOWN'],
    ]);
  });
});
