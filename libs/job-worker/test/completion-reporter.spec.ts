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
});
