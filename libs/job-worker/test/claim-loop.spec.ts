import { jobV1 } from '@trellis/contracts';
import { captureLogger } from '@trellis/platform/testing';
import { createClaimLoop } from '../src/claim-loop';
import type { WorkerCallOptions } from '../src';

/** A ClaimJobs fake whose calls the test answers one by one; a call fails when its signal aborts. */
function fakeClaims() {
  const calls: Array<{
    request: jobV1.ClaimJobsRequest;
    options?: WorkerCallOptions;
    answer(jobIds: string[]): void;
    fail(err: Error): void;
  }> = [];
  const client = {
    claimJobs: (request: jobV1.ClaimJobsRequest, options?: WorkerCallOptions) =>
      new Promise<jobV1.ClaimJobsResponse>((resolve, reject) => {
        options?.signal?.addEventListener('abort', () => reject(new Error('aborted')));
        calls.push({
          request,
          options,
          answer: (ids) =>
            resolve({
              jobs: ids.map((id) => ({
                job: jobV1.Job.fromPartial({ id }),
                leaseToken: `t-${id}`,
                children: [],
              })),
            }),
          fail: reject,
        });
      }),
  };
  return { client, calls };
}

/** Lets the promise callbacks queued so far run (the loop's next step after an answer). */
const settle = () => new Promise((resolve) => setImmediate(resolve));

function setup(free: { slots: number }) {
  const { client, calls } = fakeClaims();
  const claimed: string[] = [];
  const capture = captureLogger('job-worker-test');
  const loop = createClaimLoop({
    client,
    workerId: 'w1',
    types: ['t'],
    claimWaitMs: 1_500,
    freeSlots: () => free.slots,
    onClaimed: (jobs) => {
      for (const { job } of jobs) claimed.push(job!.id);
      free.slots -= jobs.length;
    },
    logger: capture.logger,
  });
  return { loop, calls, claimed, lines: capture.lines };
}

afterEach(() => jest.useRealTimers());

describe('claim loop', () => {
  it('long-polls for as many jobs as slots are free (at most 100) and hands them over', async () => {
    const free = { slots: 150 };
    const { loop, calls, claimed } = setup(free);
    loop.start();
    loop.start(); // once only
    await settle();
    expect(calls).toHaveLength(1);
    expect(calls[0]!.request).toEqual({
      workerId: 'w1',
      types: ['t'],
      maxJobs: 100,
      wait: { seconds: 1n, nanos: 500_000_000 },
    });
    expect(calls[0]!.options?.signal).toBeInstanceOf(AbortSignal);
    expect(calls[0]!.options?.deadline).toBeInstanceOf(Date);
    calls[0]!.answer(['a', 'b']);
    await settle();
    expect(claimed).toEqual(['a', 'b']);
    expect(calls[1]!.request.maxJobs).toBe(100);
    await loop.stop();
  });

  it('waits for a freed slot when all are taken, and claims again when woken', async () => {
    const free = { slots: 2 };
    const { loop, calls, claimed } = setup(free);
    loop.start();
    await settle();
    calls[0]!.answer(['a', 'b']);
    await settle();
    expect(claimed).toEqual(['a', 'b']);
    expect(calls).toHaveLength(1); // no slot free: no call
    free.slots = 1;
    loop.wake();
    await settle();
    expect(calls).toHaveLength(2);
    expect(calls[1]!.request.maxJobs).toBe(1);
    await loop.stop();
  });

  it('backs off after failed calls, doubling from 200 ms, and starts over after a success', async () => {
    jest.useFakeTimers();
    const { loop, calls, lines } = setup({ slots: 1 });
    loop.start();
    await jest.advanceTimersByTimeAsync(0);
    calls[0]!.fail(new Error('unavailable'));
    await jest.advanceTimersByTimeAsync(199);
    expect(calls).toHaveLength(1);
    await jest.advanceTimersByTimeAsync(1);
    expect(calls).toHaveLength(2);
    calls[1]!.fail(new Error('unavailable'));
    await jest.advanceTimersByTimeAsync(399);
    expect(calls).toHaveLength(2);
    await jest.advanceTimersByTimeAsync(1);
    expect(calls).toHaveLength(3);
    calls[2]!.answer([]);
    await jest.advanceTimersByTimeAsync(0);
    calls[3]!.fail(new Error('unavailable'));
    await jest.advanceTimersByTimeAsync(200);
    expect(calls).toHaveLength(5);
    await loop.stop();
    expect(lines.filter((l) => l.msg === 'ClaimJobs failed').map((l) => l.retry_in_ms)).toEqual([
      200, 400, 200,
    ]);
  });

  it('ends a backoff early when woken (a slot was freed)', async () => {
    jest.useFakeTimers();
    const { loop, calls } = setup({ slots: 1 });
    loop.start();
    await jest.advanceTimersByTimeAsync(0);
    calls[0]!.fail(new Error('unavailable'));
    await jest.advanceTimersByTimeAsync(10);
    expect(calls).toHaveLength(1);
    loop.wake();
    await jest.advanceTimersByTimeAsync(0);
    expect(calls).toHaveLength(2);
    await loop.stop();
  });

  it('stop() cancels the open long-poll, neither logs nor retries its failure, and ends the loop', async () => {
    const { loop, calls, lines } = setup({ slots: 1 });
    loop.start();
    await settle();
    expect(calls).toHaveLength(1);
    await loop.stop();
    expect(calls[0]!.options?.signal?.aborted).toBe(true);
    await settle();
    expect(calls).toHaveLength(1);
    expect(lines.some((l) => l.msg === 'ClaimJobs failed')).toBe(false);
  });
});
