import { awaitChildren, childFinished, childOf, childReopened, isFinished } from './flow';
import { cancel, newJob, type Job, type JobState } from './job';

const t0 = new Date('2026-01-01T00:00:00Z');
const at = (ms: number) => new Date(t0.getTime() + ms);

function job(id: string, overrides: Partial<Job> = {}): Job {
  return {
    ...newJob(
      {
        id,
        type: 'demo.echo',
        payload: {},
        priority: 0,
        runAt: t0,
        maxAttempts: 3,
        backoff: { initialDelayMs: 1000, maxDelayMs: 3000, multiplier: 2, jitter: 0 },
        leaseDurationMs: 30_000,
        idempotencyKey: '',
        requestHash: 'h',
      },
      t0,
    ),
    ...overrides,
  };
}

const parentOf = (children: number, policy: 'FAIL_PARENT' | 'IGNORE' = 'FAIL_PARENT') =>
  awaitChildren(job('p'), children, policy);
const child = (id: string, state: JobState) => ({ ...childOf(job(id), 'p'), state });

describe('flows (pure transitions of a parent)', () => {
  it('a job with children waits for them; one without stays PENDING', () => {
    expect(parentOf(2)).toMatchObject({
      state: 'WAITING_CHILDREN',
      childCount: 2,
      pendingChildren: 2,
    });
    expect(awaitChildren(job('leaf'), 0, 'IGNORE').state).toBe('PENDING');
    expect(childOf(job('c'), 'p').parentId).toBe('p');
  });

  it('counts finished children down and releases the parent with the last one, due now', () => {
    const first = childFinished(parentOf(2), child('a', 'SUCCEEDED'), at(5));
    expect(first.job).toMatchObject({ state: 'WAITING_CHILDREN', pendingChildren: 1 });
    expect(first.events).toEqual([]);
    const last = childFinished(first.job, child('b', 'SUCCEEDED'), at(9));
    expect(last.job).toMatchObject({ state: 'PENDING', pendingChildren: 0, runAt: at(9) });
    expect(last.events.map((e) => e.type)).toEqual(['JobChildrenCompleted']);
  });

  it('keeps a later run_at of the parent', () => {
    const parent = { ...parentOf(1), runAt: at(60_000) };
    expect(childFinished(parent, child('a', 'SUCCEEDED'), at(9)).job.runAt).toEqual(at(60_000));
  });

  it('FAIL_PARENT: a DEAD or CANCELLED child makes the parent DEAD with CHILD_FAILED naming it', () => {
    for (const state of ['DEAD', 'CANCELLED'] as const) {
      const { job: parent, events } = childFinished(parentOf(3), child('a', state), at(5));
      expect(parent.state).toBe('DEAD');
      expect(parent.lastError).toMatchObject({ code: 'CHILD_FAILED', retryable: false });
      expect(parent.lastError!.message).toContain('a');
      expect(parent.lastError!.message).toContain(state);
      expect(events.map((e) => e.type)).toEqual(['JobFailed', 'JobDeadLettered']);
    }
  });

  it('IGNORE: a failed child counts as done', () => {
    const { job: parent } = childFinished(parentOf(1, 'IGNORE'), child('a', 'DEAD'), at(5));
    expect(parent.state).toBe('PENDING');
  });

  it('a parent no longer waiting does not change, and an unfinished child changes nothing', () => {
    const cancelled = { ...parentOf(2), state: 'CANCELLED' as const };
    expect(childFinished(cancelled, child('a', 'SUCCEEDED'), at(5)).job).toBe(cancelled);
    const waiting = parentOf(2);
    expect(childFinished(waiting, child('a', 'RUNNING'), at(5)).job).toBe(waiting);
  });

  it('a revived child is waited for again while the parent waits, and only then', () => {
    const parent = childFinished(parentOf(2, 'IGNORE'), child('a', 'DEAD'), at(5)).job;
    expect(childReopened(parent, at(6)).job.pendingChildren).toBe(2);
    const running = { ...parent, state: 'RUNNING' as const };
    expect(childReopened(running, at(6)).job).toBe(running);
  });

  it('a waiting parent is cancelled at once (the repository then cancels its children)', () => {
    const { job: parent, events } = cancel(parentOf(2), 'no', at(5));
    expect(parent).toMatchObject({ state: 'CANCELLED', cancelReason: 'no', finishedAt: at(5) });
    expect(events.map((e) => e.type)).toEqual(['JobCancelled']);
  });

  it('finished means SUCCEEDED, DEAD or CANCELLED', () => {
    expect(
      (['PENDING', 'RUNNING', 'WAITING_CHILDREN', 'SUCCEEDED', 'DEAD', 'CANCELLED'] as const).map(
        isFinished,
      ),
    ).toEqual([false, false, false, true, true, true]);
  });
});
