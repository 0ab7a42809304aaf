import { ClientError, Status } from 'nice-grpc-common';
import { jobV1 } from '@trellis/contracts';
import { captureLogger, waitFor } from '@trellis/platform/testing';
import { createCompletionReporter, type ReportedJob } from '../src/completion-reporter';
import { JobFailure } from '../src';

/** Complete/Fail fakes: CompleteJob waits for `release` so later completions queue up behind it. */
function fakeService() {
  const calls: Array<{ method: string; request: Record<string, unknown> }> = [];
  let release!: () => void;
  const gate = new Promise<void>((resolve) => (release = resolve));
  const state = { lost: new Set<string>(), failJobError: undefined as Error | undefined };
  const client = {
    async completeJob(request: jobV1.CompleteJobRequest) {
      calls.push({ method: 'completeJob', request: { ...request } });
      await gate;
      return {};
    },
    async completeJobs(request: jobV1.CompleteJobsRequest) {
      const completions = request.completions;
      calls.push({
        method: 'completeJobs',
        request: { jobIds: completions.map((c) => c.jobId), claimNext: request.claimNext },
      });
      return {
        claimed: request.claimNext
          ? [{ job: jobV1.Job.fromPartial({ id: 'next' }), leaseToken: 't-next', children: [] }]
          : [],
        results: completions.map(({ jobId }) => ({
          jobId,
          status: state.lost.has(jobId)
            ? { code: Status.FAILED_PRECONDITION, message: 'lease lost', details: [] }
            : { code: Status.OK, message: '', details: [] },
        })),
      };
    },
    async failJob(request: jobV1.FailJobRequest) {
      calls.push({ method: 'failJob', request: { ...request } });
      if (state.failJobError) throw state.failJobError;
      return { willRetry: request.retryable };
    },
  };
  return { client, calls, state, release };
}

function setup() {
  const svc = fakeService();
  const capture = captureLogger('job-worker-test');
  const claimed: string[] = [];
  const reporter = createCompletionReporter({
    client: svc.client,
    workerId: 'w1',
    types: ['t'],
    onClaimed: (jobs) => claimed.push(...jobs.map(({ job }) => job!.id)),
    logger: capture.logger,
  });
  const job = (jobId: string): ReportedJob => ({
    jobId,
    leaseToken: `tok-${jobId}`,
    log: capture.logger.child({ job_id: jobId }),
  });
  return { ...svc, reporter, job, claimed, lines: capture.lines };
}

describe('completion reporter', () => {
  it('sends the completions made while a call is in flight in one CompleteJobs that claims next jobs', async () => {
    const { reporter, job, calls, release, claimed, state, lines } = setup();
    state.lost.add('gone');
    // A lone completion goes at once, through CompleteJob; the ones made meanwhile wait for it.
    const first = reporter.report(job('a'), { kind: 'completed', result: { n: 1 } });
    await waitFor(() => calls.length === 1);
    const rest = ['b', 'c', 'gone'].map((id) =>
      reporter.report(job(id), { kind: 'completed', result: {} }),
    );
    release();
    await Promise.all([first, ...rest]);
    expect(calls).toEqual([
      { method: 'completeJob', request: { jobId: 'a', leaseToken: 'tok-a', result: { n: 1 } } },
      {
        method: 'completeJobs',
        request: {
          jobIds: ['b', 'c', 'gone'],
          claimNext: { workerId: 'w1', types: ['t'], maxJobs: 3 },
        },
      },
    ]);
    expect(claimed).toEqual(['next']);
    // Only the entry whose lease was lost is reported as not completed; report() never throws.
    await waitFor(() =>
      lines.some((l) => l.msg === 'could not report the job outcome; its lease will expire'),
    );
    expect(
      lines
        .filter((l) => l.msg === 'could not report the job outcome; its lease will expire')
        .map((l) => l.job_id),
    ).toEqual(['gone']);
  });

  it('claims no next jobs once told to stop claiming', async () => {
    const { reporter, job, calls, release, claimed } = setup();
    reporter.stopClaiming();
    release();
    await Promise.all(
      ['b', 'c'].map((id) => reporter.report(job(id), { kind: 'completed', result: {} })),
    );
    expect(calls[0]).toEqual({
      method: 'completeJobs',
      request: { jobIds: ['b', 'c'], claimNext: undefined },
    });
    expect(claimed).toEqual([]);
  });

  it('reports failures through FailJob: JobFailure decides, anything else is retryable', async () => {
    const { reporter, job, calls } = setup();
    await reporter.report(job('fatal'), {
      kind: 'failed',
      error: new JobFailure('bad input', { retryable: false, code: 'BAD' }),
    });
    await reporter.report(job('boom'), { kind: 'failed', error: new Error('transient') });
    await reporter.report(job('nameless'), { kind: 'failed', error: new TypeError('') });
    await reporter.report(job('thrown'), { kind: 'failed', error: 'a string' });
    await reporter.report(job('cancel'), { kind: 'cancelled' });
    expect(calls.map((c) => c.request)).toEqual([
      {
        jobId: 'fatal',
        leaseToken: 'tok-fatal',
        errorMessage: 'bad input',
        errorCode: 'BAD',
        retryable: false,
      },
      {
        jobId: 'boom',
        leaseToken: 'tok-boom',
        errorMessage: 'transient',
        errorCode: '',
        retryable: true,
      },
      {
        jobId: 'nameless',
        leaseToken: 'tok-nameless',
        errorMessage: 'TypeError',
        errorCode: '',
        retryable: true,
      },
      {
        jobId: 'thrown',
        leaseToken: 'tok-thrown',
        errorMessage: 'a string',
        errorCode: '',
        retryable: true,
      },
      {
        jobId: 'cancel',
        leaseToken: 'tok-cancel',
        errorMessage: 'cancelled at the request of CancelJob',
        errorCode: 'CANCELLED',
        retryable: false,
      },
    ]);
  });

  it('logs an outcome it could not report instead of throwing', async () => {
    const { reporter, job, state, lines } = setup();
    state.failJobError = new ClientError('/FailJob', Status.UNAVAILABLE, 'down');
    await expect(reporter.report(job('x'), { kind: 'cancelled' })).resolves.toBeUndefined();
    await waitFor(() =>
      lines.find(
        (l) =>
          l.msg === 'could not report the job outcome; its lease will expire' && l.job_id === 'x',
      ),
    );
  });

  it('handBack() fails the job as retryable WORKER_SHUTDOWN and logs a failure to do so', async () => {
    const { reporter, job, calls, state, lines } = setup();
    await reporter.handBack(job('a'));
    expect(calls[0]!.request).toEqual({
      jobId: 'a',
      leaseToken: 'tok-a',
      errorMessage: 'the worker stopped before the job finished',
      errorCode: 'WORKER_SHUTDOWN',
      retryable: true,
    });
    state.failJobError = new ClientError('/FailJob', Status.UNAVAILABLE, 'down');
    await expect(reporter.handBack(job('b'))).resolves.toBeUndefined();
    await waitFor(() =>
      lines.find((l) => l.msg === 'could not fail an unfinished job' && l.job_id === 'b'),
    );
  });

  describe('an outcome whose call failed with UNAVAILABLE', () => {
    const unavailable = () =>
      new ClientError('/CompleteJob', Status.UNAVAILABLE, 'connect ECONNREFUSED');

    /** CompleteJob and FailJob fail with the errors in `failures`, in turn, then succeed. */
    function flaky(failures: Error[]) {
      const calls: string[] = [];
      const answer = async (method: string) => {
        calls.push(method);
        const failure = failures.shift();
        if (failure) throw failure;
      };
      const client = {
        completeJob: async () => answer('completeJob').then(() => ({})),
        completeJobs: async (): Promise<jobV1.CompleteJobsResponse> => {
          throw new Error('not used: one report at a time goes through CompleteJob');
        },
        failJob: async () => answer('failJob').then(() => ({ willRetry: true })),
      };
      const capture = captureLogger('job-worker-test');
      const reporter = createCompletionReporter({
        client,
        workerId: 'w1',
        types: ['t'],
        onClaimed: () => undefined,
        logger: capture.logger,
        retryDelayMs: { first: 5, max: 40 },
      });
      const job = (leaseLeftMs: number): ReportedJob => {
        const leaseEndsAt = Date.now() + leaseLeftMs;
        return {
          jobId: 'j',
          leaseToken: 'tok-j',
          log: capture.logger,
          leaseEndsAt: () => leaseEndsAt,
        };
      };
      return { reporter, calls, job, lines: capture.lines };
    }
    const messages = (lines: Array<Record<string, unknown>>) => lines.map((l) => l.msg);

    it.each([
      ['a completion', { kind: 'completed', result: {} } as const, 'completeJob'],
      ['a failure', { kind: 'failed', error: new Error('boom') } as const, 'failJob'],
    ])('sends %s again with backoff while the lease lasts', async (_, outcome, method) => {
      const { reporter, calls, job, lines } = flaky([unavailable(), unavailable()]);
      await reporter.report(job(60_000), outcome);
      expect(calls).toEqual([method, method, method]);
      expect(lines.filter((l) => l.msg === 'could not report the job outcome; retrying')).toEqual([
        // One warn line per job; the later attempts at debug.
        expect.objectContaining({ retry_in_ms: 5, level: 'warn' }),
        expect.objectContaining({ retry_in_ms: 10, level: 'debug' }),
      ]);
      expect(lines.find((l) => l.msg === 'job outcome reported')).toMatchObject({ attempts: 3 });
      expect(messages(lines)).not.toContain(
        'could not report the job outcome; its lease will expire',
      );
    });

    it('gives up when the next attempt would come after the lease ends', async () => {
      jest.useFakeTimers();
      try {
        const { reporter, calls, job, lines } = flaky(Array.from({ length: 10 }, unavailable));
        // Attempts at 0, 5 and 15 ms; the next would be at 35 ms, after the 25 ms left.
        const reporting = reporter.report(job(25), { kind: 'completed', result: {} });
        await jest.advanceTimersByTimeAsync(100);
        await reporting;
        expect(calls).toEqual(['completeJob', 'completeJob', 'completeJob']);
        expect(
          lines.find((l) => l.msg === 'could not report the job outcome; its lease will expire'),
        ).toMatchObject({ attempts: 3 });
      } finally {
        jest.useRealTimers();
      }
    });

    it('is not retried when the job has no known lease end, nor after any other error', async () => {
      const noLease = flaky([unavailable()]);
      const reported = noLease.job(60_000);
      delete reported.leaseEndsAt;
      await noLease.reporter.report(reported, { kind: 'completed', result: {} });
      expect(noLease.calls).toEqual(['completeJob']);
      const internal = flaky([new ClientError('/CompleteJob', Status.INTERNAL, 'bug')]);
      await internal.reporter.report(internal.job(60_000), { kind: 'completed', result: {} });
      expect(internal.calls).toEqual(['completeJob']);
      expect(messages(internal.lines)).toContain(
        'could not report the job outcome; its lease will expire',
      );
    });

    it('says that a retry refused for a lost lease may follow an attempt that was recorded', async () => {
      const { reporter, calls, job, lines } = flaky([
        unavailable(),
        new ClientError('/CompleteJob', Status.FAILED_PRECONDITION, 'LEASE_LOST'),
      ]);
      await reporter.report(job(60_000), { kind: 'completed', result: {} });
      expect(calls).toHaveLength(2);
      expect(messages(lines)).toContain(
        'a retried job outcome was refused: an earlier attempt may have been recorded',
      );
      expect(messages(lines)).not.toContain(
        'could not report the job outcome; its lease will expire',
      );
    });

    it('stopRetrying() ends a backoff at once, and the report gives up', async () => {
      const capture = captureLogger('job-worker-test');
      const calls: string[] = [];
      const reporter = createCompletionReporter({
        client: {
          completeJob: async () => {
            calls.push('completeJob');
            throw unavailable();
          },
          completeJobs: async () => ({ claimed: [], results: [] }),
          failJob: async () => ({ willRetry: true }),
        },
        workerId: 'w1',
        types: ['t'],
        onClaimed: () => undefined,
        logger: capture.logger,
        retryDelayMs: { first: 600_000, max: 600_000 },
      });
      const reporting = reporter.report(
        {
          jobId: 'j',
          leaseToken: 't',
          log: capture.logger,
          leaseEndsAt: () => Date.now() + 3_600_000,
        },
        { kind: 'completed', result: {} },
      );
      await waitFor(() =>
        capture.lines.some((l) => l.msg === 'could not report the job outcome; retrying'),
      );
      reporter.stopRetrying();
      await reporting;
      expect(calls).toEqual(['completeJob']);
      expect(messages(capture.lines)).toContain(
        'could not report the job outcome; its lease will expire',
      );
    });
  });
});
