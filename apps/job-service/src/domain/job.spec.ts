import type { DomainError } from '@trellis/platform/errors';
import { backoffDelayMs, DEFAULT_BACKOFF } from './backoff';
import {
  abandonClaim,
  cancel,
  complete,
  expireLease,
  failAttempt,
  heartbeat,
  newJob,
  retry,
  startAttempt,
  type Job,
  type JobState,
} from './job';
import { JobTypeRegistry, DEFAULT_JOB_TYPES } from './job-type';
import { awaitChildren, childFinished, childOf, childReopened, isFinished } from './flow';

const t0 = new Date('2026-01-01T00:00:00Z');
const at = (ms: number) => new Date(t0.getTime() + ms);

function pending(overrides: Partial<Job> = {}): Job {
  return {
    ...newJob(
      {
        id: 'j1',
        type: 'demo.echo',
        payload: { message: 'hi' },
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

function reasonOf(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    return (err as DomainError).reason;
  }
  return 'no error';
}

describe('backoff', () => {
  it('grows exponentially, is capped, and jitters downwards only', () => {
    const policy = { initialDelayMs: 1000, maxDelayMs: 5000, multiplier: 2, jitter: 0 };
    expect([1, 2, 3, 4].map((n) => backoffDelayMs(policy, n, 0.5))).toEqual([
      1000, 2000, 4000, 5000,
    ]);
    const jittered = { ...DEFAULT_BACKOFF, jitter: 0.5 };
    expect(backoffDelayMs(jittered, 1, 0)).toBe(1000);
    expect(backoffDelayMs(jittered, 1, 0.999)).toBeGreaterThanOrEqual(500);
  });
});

describe('job transitions', () => {
  it('claim → fail (retry after backoff) → claim → complete', () => {
    const started = startAttempt(pending(), 'w1', 'tok', t0);
    expect(started.job).toMatchObject({ state: 'RUNNING', attempts: 1, leaseToken: 'tok' });
    expect(started.job.leaseExpiresAt).toEqual(at(30_000));
    const failed = failAttempt(started.job, { message: 'x', code: '', retryable: true }, at(10), 0);
    expect(failed.job).toMatchObject({ state: 'PENDING', leaseToken: '', workerId: '' });
    expect(failed.nextRunAt).toEqual(at(1010));
    expect(failed.events.map((e) => e.type)).toEqual(['JobFailed']);
    const again = startAttempt(failed.job, 'w2', 'tok2', at(2000));
    const done = complete(again.job, 'tok2', { ok: true }, at(2500));
    expect(done.job).toMatchObject({ state: 'SUCCEEDED', attempts: 2, result: { ok: true } });
    expect(done.events[0]).toMatchObject({ type: 'JobSucceeded', runDurationMs: 500 });
  });

  it('goes DEAD when out of attempts or not retryable', () => {
    const last = startAttempt(pending({ attempts: 2 }), 'w', 't', t0).job;
    const dead = failAttempt(last, { message: 'x', code: 'C', retryable: true }, t0, 0);
    expect(dead.job.state).toBe('DEAD');
    expect(dead.events.map((e) => e.type)).toEqual(['JobFailed', 'JobDeadLettered']);
    const first = startAttempt(pending(), 'w', 't', t0).job;
    expect(failAttempt(first, { message: 'x', code: '', retryable: false }, t0, 0).job.state).toBe(
      'DEAD',
    );
  });

  it('rejects stale lease tokens and illegal transitions', () => {
    const running = startAttempt(pending(), 'w', 'tok', t0).job;
    expect(reasonOf(() => complete(running, 'other', {}, t0))).toBe('LEASE_LOST');
    expect(reasonOf(() => heartbeat(running, '', null, null, t0))).toBe('LEASE_LOST');
    expect(reasonOf(() => retry(running, t0))).toBe('ILLEGAL_TRANSITION');
    const done = complete(running, 'tok', {}, t0).job;
    expect(reasonOf(() => cancel(done, '', t0))).toBe('ILLEGAL_TRANSITION');
    expect(reasonOf(() => startAttempt(done, 'w', 't', t0))).toBe('ILLEGAL_TRANSITION');
  });

  it('cancels PENDING at once and RUNNING on acknowledgement or lease expiry', () => {
    expect(cancel(pending(), 'r', t0).job.state).toBe('CANCELLED');
    const running = startAttempt(pending(), 'w', 'tok', t0).job;
    const requested = cancel(running, 'r', t0).job;
    expect(requested).toMatchObject({ state: 'RUNNING', cancelRequested: true });
    expect(heartbeat(requested, 'tok', null, null, t0).cancelRequested).toBe(true);
    const acked = failAttempt(requested, { message: 'x', code: '', retryable: true }, t0, 0);
    expect(acked.job.state).toBe('CANCELLED');
    expect(expireLease(requested, at(40_000), 0).job.state).toBe('CANCELLED');
    const revived = retry(acked.job, at(1)).job;
    expect(revived).toMatchObject({ state: 'PENDING', attempts: 0, cancelRequested: false });
  });

  it('an abandoned claim goes back to PENDING without counting the attempt', () => {
    const running = startAttempt(pending(), 'w', 'tok', t0).job;
    const back = abandonClaim(running, at(5));
    expect(back.job).toMatchObject({ state: 'PENDING', attempts: 0, leaseToken: '', runAt: at(5) });
    expect(back.events[0]).toMatchObject({ type: 'JobFailed', willRetry: true });
  });

  it('an expired lease counts the attempt', () => {
    const running = startAttempt(pending(), 'w', 'tok', t0).job;
    const expired = expireLease(running, at(31_000), 0);
    expect(expired.job).toMatchObject({ state: 'PENDING', attempts: 1 });
    expect(expired.job.lastError?.code).toBe('LEASE_EXPIRED');
  });
});

describe('job types', () => {
  const registry = new JobTypeRegistry(DEFAULT_JOB_TYPES);

  it('declares email.campaign and demo.echo by default', () => {
    expect(registry.list().map((t) => t.name)).toEqual(['demo.echo', 'email.campaign']);
  });

  it('names the failing JSON pointer of a schema violation', () => {
    expect(() => registry.validatePayload('email.campaign', { campaign_id: 'c1' })).not.toThrow();
    try {
      registry.validatePayload('email.campaign', { campaign_id: 7 });
      throw new Error('expected a violation');
    } catch (err) {
      expect((err as DomainError).reason).toBe('PAYLOAD_SCHEMA_VIOLATION');
      expect((err as { fieldViolations: Array<{ field: string }> }).fieldViolations[0].field).toBe(
        'payload/campaign_id',
      );
    }
  });

  it('rejects unknown types and invalid declarations', () => {
    expect(reasonOf(() => registry.get('nope'))).toBe('UNKNOWN_JOB_TYPE');
    expect(() => new JobTypeRegistry([{ ...DEFAULT_JOB_TYPES[0], name: 'Bad Name' }])).toThrow(
      'lower-case',
    );
  });
});

const job = (id: string) => pending({ id });
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
