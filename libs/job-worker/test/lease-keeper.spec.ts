import { ClientError, Status } from 'nice-grpc-common';
import { jobV1 } from '@trellis/contracts';
import { captureLogger } from '@trellis/platform/testing';
import { LeaseKeeper } from '../src/lease-keeper';
import { JobCancelledError, LeaseLostError, WorkerStoppingError } from '../src';

/** A HeartbeatJob fake: records each call; `answer` decides what the next calls get. */
function fakeHeartbeats() {
  const calls: jobV1.HeartbeatJobRequest[] = [];
  const state = {
    answer: (): Promise<jobV1.HeartbeatJobResponse> => Promise.resolve({ cancelRequested: false }),
  };
  const client = {
    heartbeatJob: (request: jobV1.HeartbeatJobRequest) => {
      calls.push(request);
      return state.answer();
    },
  };
  return { client, calls, state };
}

function setup(settings: { leaseSeconds?: number; heartbeatIntervalMs?: number } = {}) {
  const { client, calls, state } = fakeHeartbeats();
  const capture = captureLogger('job-worker-test');
  const keeper = new LeaseKeeper({
    client,
    job: jobV1.Job.fromPartial({
      id: 'j1',
      leaseDuration: { seconds: BigInt(settings.leaseSeconds ?? 3), nanos: 0 },
    }),
    leaseToken: 'tok',
    heartbeatIntervalMs: settings.heartbeatIntervalMs,
    log: capture.logger,
  });
  return { keeper, calls, state, lines: capture.lines };
}

const lost = (status: Status) => () =>
  Promise.reject(new ClientError('/HeartbeatJob', status, 'lease lost'));

beforeEach(() => jest.useFakeTimers());
afterEach(() => jest.useRealTimers());

describe('lease keeper', () => {
  it('heartbeats every third of the lease, carrying the latest progress once', async () => {
    const { keeper, calls } = setup({ leaseSeconds: 3 });
    await jest.advanceTimersByTimeAsync(999);
    expect(calls).toHaveLength(0);
    await jest.advanceTimersByTimeAsync(1);
    expect(calls).toEqual([{ jobId: 'j1', leaseToken: 'tok', progress: undefined }]);
    keeper.progress({ percent: 10, message: 'started' });
    keeper.progress({ counters: { sent: 3, big: 5n, frac: 2.7 } });
    await jest.advanceTimersByTimeAsync(1_000);
    expect(calls[1]!.progress).toEqual({
      percent: 10,
      message: 'started',
      counters: { sent: 3n, big: 5n, frac: 2n },
    });
    await jest.advanceTimersByTimeAsync(1_000);
    expect(calls[2]!.progress).toBeUndefined();
    await keeper.finish();
  });

  it('uses heartbeatIntervalMs when given, at least 100 ms', async () => {
    const { keeper, calls } = setup({ heartbeatIntervalMs: 10 });
    await jest.advanceTimersByTimeAsync(99);
    expect(calls).toHaveLength(0);
    await jest.advanceTimersByTimeAsync(1);
    expect(calls).toHaveLength(1);
    await keeper.finish();
  });

  it('beats at once on progress when the last beat is a second old, and one beat at a time', async () => {
    const { keeper, calls, state } = setup({ heartbeatIntervalMs: 60_000 });
    keeper.progress({ percent: 1 });
    expect(calls).toHaveLength(0);
    await jest.advanceTimersByTimeAsync(1_000);
    let answer!: () => void;
    state.answer = () =>
      new Promise((resolve) => (answer = () => resolve({ cancelRequested: false })));
    keeper.progress({ percent: 2 });
    expect(calls.map((c) => c.progress?.percent)).toEqual([2]);
    await jest.advanceTimersByTimeAsync(1_000);
    keeper.progress({ percent: 3 }); // the first beat is still in flight
    expect(calls).toHaveLength(1);
    answer();
    const finished = keeper.finish();
    await finished;
    expect(keeper.signal.aborted).toBe(false);
  });

  it('aborts the signal with JobCancelledError on cancel_requested and sends no more heartbeats', async () => {
    const { keeper, calls, state } = setup({ heartbeatIntervalMs: 100 });
    state.answer = () => Promise.resolve({ cancelRequested: true });
    await jest.advanceTimersByTimeAsync(100);
    expect(keeper.signal.reason).toBeInstanceOf(JobCancelledError);
    expect(keeper.leaseLost).toBe(false);
    await jest.advanceTimersByTimeAsync(100);
    // The handler is winding down; FailJob (CANCELLED) ends the lease.
    expect(calls).toHaveLength(1);
    await keeper.finish();
  });

  it.each([
    ['FAILED_PRECONDITION', Status.FAILED_PRECONDITION],
    ['NOT_FOUND', Status.NOT_FOUND],
  ])(
    'treats %s as a lost lease: LeaseLostError, leaseLost, no more heartbeats',
    async (_, status) => {
      const { keeper, calls, state, lines } = setup({ heartbeatIntervalMs: 100 });
      state.answer = lost(status);
      await jest.advanceTimersByTimeAsync(100);
      expect(keeper.signal.reason).toBeInstanceOf(LeaseLostError);
      expect(keeper.leaseLost).toBe(true);
      await jest.advanceTimersByTimeAsync(500);
      expect(calls).toHaveLength(1);
      expect(lines.some((l) => l.msg === 'lease lost')).toBe(true);
    },
  );

  it('keeps the progress of a heartbeat that failed otherwise for the next one', async () => {
    const { keeper, calls, state, lines } = setup({ heartbeatIntervalMs: 100 });
    state.answer = lost(Status.UNAVAILABLE);
    keeper.progress({ percent: 40 });
    await jest.advanceTimersByTimeAsync(100);
    state.answer = () => Promise.resolve({ cancelRequested: false });
    await jest.advanceTimersByTimeAsync(100);
    expect(calls.map((c) => c.progress?.percent)).toEqual([40, 40]);
    expect(keeper.signal.aborted).toBe(false);
    expect(lines.some((l) => l.msg === 'heartbeat failed')).toBe(true);
    await keeper.finish();
  });

  it('finish() waits for the heartbeat in flight, whose answer may still lose the lease', async () => {
    const { keeper, calls, state } = setup({ heartbeatIntervalMs: 100 });
    let answer!: () => void;
    state.answer = () =>
      new Promise(
        (_, reject) =>
          (answer = () =>
            reject(new ClientError('/HeartbeatJob', Status.FAILED_PRECONDITION, 'lost'))),
      );
    await jest.advanceTimersByTimeAsync(100);
    let finished = false;
    const finishing = Promise.resolve(keeper.finish()).then(() => (finished = true));
    await jest.advanceTimersByTimeAsync(0);
    expect(finished).toBe(false);
    answer();
    await finishing;
    expect(keeper.leaseLost).toBe(true);
    await jest.advanceTimersByTimeAsync(500);
    expect(calls).toHaveLength(1);
  });

  it('knows when the lease ends: from the claim, then from each answered heartbeat when it was sent', async () => {
    const { keeper, state } = setup({ leaseSeconds: 3 });
    const claimedAt = Date.now();
    expect(keeper.leaseEndsAt).toBe(claimedAt + 3_000);
    await jest.advanceTimersByTimeAsync(1_000);
    expect(keeper.leaseEndsAt).toBe(claimedAt + 4_000);
    // A heartbeat that failed extended nothing.
    state.answer = lost(Status.UNAVAILABLE);
    await jest.advanceTimersByTimeAsync(1_000);
    expect(keeper.leaseEndsAt).toBe(claimedAt + 4_000);
    await keeper.finish();
  });

  it('abort(reason) aborts the signal and ends the heartbeats', async () => {
    const { keeper, calls } = setup({ heartbeatIntervalMs: 100 });
    keeper.abort(new WorkerStoppingError('j1'));
    expect(keeper.signal.reason).toBeInstanceOf(WorkerStoppingError);
    await jest.advanceTimersByTimeAsync(500);
    expect(calls).toHaveLength(0);
  });
});
