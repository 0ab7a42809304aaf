import { Status } from 'nice-grpc';
import { jobV1 } from '@trellis/contracts';
import { waitFor } from '@trellis/platform/testing';
import type { Runtime } from '../src/app/ports/runtime.port';
import type { JobDocument } from '../src/adapters/mongo/job.repository';
import { startHarness, type Harness } from './harness';
import { fieldsOf, reasonOf, rpcError } from './rpc-errors';

const { CatchUpPolicy, OverlapPolicy, JobState } = jobV1;

// Each test moves the clock and waits for the ticker (liveness bound, not a speed claim).
jest.setTimeout(30_000);

/** The service's clock, moved by the tests; the ticker runs every 20 ms of real time. */
class TestClock implements Runtime {
  private ms: number;
  constructor(iso: string) {
    this.ms = Date.parse(iso);
  }
  now(): Date {
    return new Date(this.ms);
  }
  random(): number {
    return 0.5;
  }
  set(iso: string): void {
    this.ms = Date.parse(iso);
  }
}

const clock = new TestClock('2027-01-01T00:02:00Z');
let h: Harness;

beforeAll(async () => {
  h = await startHarness(
    'job_schedules_test',
    // The clock is moved by hand, and nothing wakes a ticker for that: it looks every 20 ms.
    { SCHEDULE_TICK_INTERVAL_MS: '20', SCHEDULE_TICK_MAX_IDLE_MS: '20' },
    { runtime: clock },
  );
});
afterAll(async () => {
  await h?.stop();
});

const seconds = (s: number) => ({ seconds: BigInt(s), nanos: 0 });
const template = { type: 'test.batch', payload: { from: 'schedule' }, priority: 0, maxAttempts: 0 };
const iso = (dates: Array<Date | undefined>) => dates.map((d) => d?.toISOString());

/** The jobs a schedule created, by tick (from their idempotency keys), oldest first. */
async function jobsOf(scheduleId: string): Promise<JobDocument[]> {
  return h.service.context.mongo.db
    .collection<JobDocument>('jobs')
    .find({ idempotency_key: { $regex: `^schedule:${scheduleId}:` } })
    .sort({ idempotency_key: 1 })
    .toArray();
}

async function waitForJobs(scheduleId: string, count: number): Promise<JobDocument[]> {
  let jobs: JobDocument[] = [];
  await waitFor(async () => (jobs = await jobsOf(scheduleId)).length >= count, {
    what: `${count} jobs of schedule ${scheduleId}`,
  });
  return jobs;
}

/** Waits until the ticker has handled everything due now (next_run_at in the future). */
async function settled(scheduleId: string): Promise<jobV1.Schedule> {
  let schedule: jobV1.Schedule | undefined;
  await waitFor(
    async () => {
      schedule = (await h.jobs.client.getSchedule({ scheduleId })).schedule;
      return !schedule?.nextRunAt || schedule.nextRunAt > clock.now();
    },
    { what: `schedule ${scheduleId} handled up to now` },
  );
  return schedule!;
}

describe('schedule validation at the edge', () => {
  const bad = async (
    definition: Parameters<typeof jobV1.ScheduleDefinition.fromPartial>[0],
    scheduleId = '',
  ) => {
    const err = await rpcError(h.jobs.client.createSchedule({ scheduleId, definition }));
    expect(err.code).toBe(Status.INVALID_ARGUMENT);
    return fieldsOf(err);
  };

  it('names the offending field', async () => {
    expect(await bad({ template, cron: '61 * * * *' })).toEqual(['definition.cron']);
    expect(await bad({ template, cron: '* * * * *', timeZone: 'Mars/Olympus' })).toEqual([
      'definition.time_zone',
    ]);
    expect(await bad({ template, interval: seconds(0) })).toEqual(['definition.interval']);
    expect(await bad({ template, cron: '0 0 31 2 *' })).toEqual(['definition.cron']);
    expect(await bad({ template, cron: '0 0 0 1 1 * 2030' })).toEqual(['definition.cron']);
    expect(await bad({ template, cron: '@daily' })).toEqual(['definition.cron']);
    expect(await bad({ template, interval: seconds(10), cron: '* * * * *' })).toEqual([
      'definition.interval',
    ]);
    expect(await bad({ template })).toEqual(['definition.cron']);
    expect(
      await bad({ template: { ...template, type: 'no.such.type' }, cron: '* * * * *' }),
    ).toEqual(['definition.template.type']);
    expect(
      await bad({
        template,
        interval: seconds(60),
        startAt: new Date('2027-02-01T00:00:00Z'),
        endAt: new Date('2027-01-01T00:00:00Z'),
      }),
    ).toEqual(['definition.end_at']);
    expect(
      await bad({
        template: { ...template, type: 'test.work', payload: { n: 'x' } },
        interval: seconds(60),
      }),
    ).toEqual(['definition.template.payload/n']);
    expect(await bad({ template, interval: seconds(60), maxCatchUpRuns: -1 })).toEqual([
      'definition.max_catch_up_runs',
    ]);
    expect(await bad({ template, interval: seconds(60) }, 'has space')).toEqual(['schedule_id']);
    expect(fieldsOf(await rpcError(h.jobs.client.createSchedule({})))).toEqual(['definition']);
  });

  it('an unknown schedule is NOT_FOUND; a taken id ALREADY_EXISTS', async () => {
    expect((await rpcError(h.jobs.client.getSchedule({ scheduleId: 'nope' }))).code).toBe(
      Status.NOT_FOUND,
    );
    expect((await rpcError(h.jobs.client.deleteSchedule({ scheduleId: 'nope' }))).code).toBe(
      Status.NOT_FOUND,
    );
    const definition = { template, interval: seconds(3600) };
    await h.jobs.client.createSchedule({ scheduleId: 'taken', definition });
    const err = await rpcError(h.jobs.client.createSchedule({ scheduleId: 'taken', definition }));
    expect(err.code).toBe(Status.ALREADY_EXISTS);
    expect(reasonOf(err)).toBe('SCHEDULE_EXISTS');
    await h.jobs.client.deleteSchedule({ scheduleId: 'taken' });
  });
});

describe('schedules with a controllable clock', () => {
  it('a cron schedule creates one job per tick, at the tick', async () => {
    clock.set('2027-01-01T00:02:00Z');
    const { schedule } = await h.jobs.client.createSchedule({
      scheduleId: 'cron-every-5',
      definition: {
        template,
        cron: '*/5 * * * *',
        overlapPolicy: OverlapPolicy.OVERLAP_POLICY_ALLOW_ALL,
      },
    });
    expect(schedule?.nextRunAt).toEqual(new Date('2027-01-01T00:05:00Z'));
    const got = await h.jobs.client.getSchedule({ scheduleId: 'cron-every-5', nextRunCount: 3 });
    expect(iso(got.schedule!.nextRunTimes)).toEqual([
      '2027-01-01T00:05:00.000Z',
      '2027-01-01T00:10:00.000Z',
      '2027-01-01T00:15:00.000Z',
    ]);
    clock.set('2027-01-01T00:05:00.200Z');
    const [first] = await waitForJobs('cron-every-5', 1);
    expect(first.idempotency_key).toBe('schedule:cron-every-5:2027-01-01T00:05:00.000Z');
    expect(first.run_at).toEqual(new Date('2027-01-01T00:05:00Z'));
    clock.set('2027-01-01T00:10:00.100Z');
    await waitForJobs('cron-every-5', 2);
    const after = await settled('cron-every-5');
    expect(after.nextRunAt).toEqual(new Date('2027-01-01T00:15:00Z'));
    const jobs = await jobsOf('cron-every-5');
    expect(jobs.map((j) => j.run_at.toISOString())).toEqual([
      '2027-01-01T00:05:00.000Z',
      '2027-01-01T00:10:00.000Z',
    ]);
    // GetSchedule shows the runs, newest first, with their jobs' states.
    const view = (await h.jobs.client.getSchedule({ scheduleId: 'cron-every-5' })).schedule!;
    expect(view.lastRuns.map((r) => r.jobId)).toEqual([jobs[1]._id, jobs[0]._id]);
    expect(view.lastRuns.map((r) => r.jobState)).toEqual([
      JobState.JOB_STATE_PENDING,
      JobState.JOB_STATE_PENDING,
    ]);
    await h.jobs.client.deleteSchedule({ scheduleId: 'cron-every-5' });
  });

  it('an interval schedule ticks at start + k × interval until its end', async () => {
    clock.set('2027-01-02T00:00:00Z');
    await h.jobs.client.createSchedule({
      scheduleId: 'every-45s',
      definition: {
        template,
        interval: seconds(45),
        startAt: new Date('2027-01-02T00:00:30Z'),
        endAt: new Date('2027-01-02T00:02:00Z'),
        overlapPolicy: OverlapPolicy.OVERLAP_POLICY_ALLOW_ALL,
      },
    });
    for (const [now, count] of [
      ['2027-01-02T00:00:30Z', 1],
      ['2027-01-02T00:01:15Z', 2],
      ['2027-01-02T00:02:00Z', 3],
    ] as const) {
      clock.set(now);
      await waitForJobs('every-45s', count);
    }
    clock.set('2027-01-02T00:05:00Z');
    const ended = await settled('every-45s');
    expect(ended.nextRunAt).toBeUndefined();
    expect((await jobsOf('every-45s')).map((j) => j.run_at.toISOString())).toEqual([
      '2027-01-02T00:00:30.000Z',
      '2027-01-02T00:01:15.000Z',
      '2027-01-02T00:02:00.000Z',
    ]);
  });

  it.each([
    ['SKIP', CatchUpPolicy.CATCH_UP_POLICY_SKIP, 0],
    ['RUN_ONCE', CatchUpPolicy.CATCH_UP_POLICY_RUN_ONCE, 1],
    ['RUN_EACH (3)', CatchUpPolicy.CATCH_UP_POLICY_RUN_EACH, 3],
  ])('catch-up %s after 27 missed minutes', async (_name, policy, expected) => {
    clock.set('2027-01-03T00:00:30Z');
    const id = `catch-up-${policy}`;
    await h.jobs.client.createSchedule({
      scheduleId: id,
      definition: {
        template,
        cron: '*/5 * * * *',
        catchUpPolicy: policy,
        maxCatchUpRuns: 3,
        overlapPolicy: OverlapPolicy.OVERLAP_POLICY_ALLOW_ALL,
      },
    });
    // The service "was down" from 00:00:30 to 00:27:30: ticks 00:05 … 00:25 are due at once.
    clock.set('2027-01-03T00:27:30Z');
    const schedule = await settled(id);
    expect(schedule.nextRunAt).toEqual(new Date('2027-01-03T00:30:00Z'));
    const jobs = await jobsOf(id);
    expect(jobs.map((j) => j.run_at.toISOString())).toEqual(
      ['2027-01-03T00:15:00.000Z', '2027-01-03T00:20:00.000Z', '2027-01-03T00:25:00.000Z'].slice(
        3 - expected,
      ),
    );
    await h.jobs.client.deleteSchedule({ scheduleId: id });
  });

  /** A schedule every minute whose first job stays PENDING (no worker); the second tick comes. */
  async function overlapping(policy: jobV1.OverlapPolicy, id: string) {
    clock.set('2027-01-04T00:00:30Z');
    await h.jobs.client.createSchedule({
      scheduleId: id,
      definition: { template, cron: '* * * * *', overlapPolicy: policy },
    });
    clock.set('2027-01-04T00:01:00Z');
    const [first] = await waitForJobs(id, 1);
    clock.set('2027-01-04T00:02:00Z');
    await settled(id);
    return first;
  }

  it('overlap SKIP: no job while the previous one is PENDING or RUNNING', async () => {
    await overlapping(OverlapPolicy.OVERLAP_POLICY_SKIP, 'overlap-skip');
    expect(await jobsOf('overlap-skip')).toHaveLength(1);
  });

  it('overlap ALLOW_ALL: every tick creates its job', async () => {
    await overlapping(OverlapPolicy.OVERLAP_POLICY_ALLOW_ALL, 'overlap-all');
    expect(await jobsOf('overlap-all')).toHaveLength(2);
  });

  it('overlap CANCEL_PREVIOUS: the previous job is cancelled in the same transaction', async () => {
    const first = await overlapping(OverlapPolicy.OVERLAP_POLICY_CANCEL_PREVIOUS, 'overlap-cancel');
    const jobs = await jobsOf('overlap-cancel');
    expect(jobs).toHaveLength(2);
    expect(jobs.find((j) => j._id === first._id)?.state).toBe('CANCELLED');
    expect(jobs.find((j) => j._id !== first._id)?.state).toBe('PENDING');
  });

  it('overlap BUFFER_ONE: the tick waits for the previous job to end, then runs', async () => {
    const first = await overlapping(OverlapPolicy.OVERLAP_POLICY_BUFFER_ONE, 'overlap-buffer');
    expect(await jobsOf('overlap-buffer')).toHaveLength(1);
    await h.jobs.client.cancelJob({ jobId: first._id, reason: 'done with it' });
    clock.set('2027-01-04T00:02:01.500Z');
    const jobs = await waitForJobs('overlap-buffer', 2);
    expect(jobs[1].idempotency_key).toBe('schedule:overlap-buffer:2027-01-04T00:02:00.000Z');
  });

  it('DST: 02:30 daily in Europe/Berlin runs at 03:00 CEST on the spring-forward day', async () => {
    clock.set('2027-03-27T12:00:00Z');
    await h.jobs.client.createSchedule({
      scheduleId: 'berlin-0230',
      definition: { template, cron: '30 2 * * *', timeZone: 'Europe/Berlin' },
    });
    const { schedule } = await h.jobs.client.getSchedule({
      scheduleId: 'berlin-0230',
      nextRunCount: 2,
    });
    expect(iso(schedule!.nextRunTimes)).toEqual([
      '2027-03-28T01:00:00.000Z',
      '2027-03-29T00:30:00.000Z',
    ]);
    clock.set('2027-03-28T01:00:00.050Z');
    const [job] = await waitForJobs('berlin-0230', 1);
    expect(job.run_at).toEqual(new Date('2027-03-28T01:00:00Z'));
    await h.jobs.client.deleteSchedule({ scheduleId: 'berlin-0230' });
  });
});

describe('schedule lifecycle', () => {
  it('pause skips ticks, resume ticks from now, update redefines, trigger runs now, list pages', async () => {
    clock.set('2027-02-01T00:00:30Z');
    const id = 'lifecycle';
    await h.jobs.client.createSchedule({
      scheduleId: id,
      definition: {
        template,
        cron: '* * * * *',
        overlapPolicy: OverlapPolicy.OVERLAP_POLICY_ALLOW_ALL,
      },
    });
    const paused = (await h.jobs.client.pauseSchedule({ scheduleId: id })).schedule!;
    expect(paused.paused).toBe(true);
    clock.set('2027-02-01T00:05:30Z');
    const resumed = (await h.jobs.client.resumeSchedule({ scheduleId: id })).schedule!;
    expect(resumed.nextRunAt).toEqual(new Date('2027-02-01T00:06:00Z'));
    expect(await jobsOf(id)).toHaveLength(0);

    const triggered = (await h.jobs.client.triggerSchedule({ scheduleId: id })).job!;
    expect(triggered.type).toBe('test.batch');
    expect(triggered.runAt).toEqual(clock.now());
    const view = (await h.jobs.client.getSchedule({ scheduleId: id })).schedule!;
    expect(view.lastRuns[0]).toMatchObject({ jobId: triggered.id, triggered: true });

    const updated = (
      await h.jobs.client.updateSchedule({
        scheduleId: id,
        definition: { template, interval: seconds(3600) },
      })
    ).schedule!;
    expect(updated.definition?.interval).toEqual(seconds(3600));
    // Interval ticks count from creation (00:00:30): the first after now (00:05:30) is 01:00:30.
    expect(updated.nextRunAt).toEqual(new Date('2027-02-01T01:00:30Z'));
    expect(updated.lastRuns).toHaveLength(1);
    expect(Number(updated.version)).toBeGreaterThan(Number(resumed.version));

    await h.jobs.client.createSchedule({
      scheduleId: 'lifecycle-2',
      definition: { template, interval: seconds(3600) },
    });
    const page1 = await h.jobs.client.listSchedules({ pageSize: 1 });
    expect(page1.schedules).toHaveLength(1);
    expect(page1.nextPageToken).not.toBe('');
    const page2 = await h.jobs.client.listSchedules({
      pageSize: 1000,
      pageToken: page1.nextPageToken,
    });
    const ids = [...page1.schedules, ...page2.schedules].map((s) => s.id);
    expect(ids).toEqual(expect.arrayContaining([id, 'lifecycle-2']));
    expect(new Set(ids).size).toBe(ids.length);

    await h.jobs.client.deleteSchedule({ scheduleId: id });
    await h.jobs.client.deleteSchedule({ scheduleId: 'lifecycle-2' });
    expect((await rpcError(h.jobs.client.triggerSchedule({ scheduleId: id }))).code).toBe(
      Status.NOT_FOUND,
    );
  });
});
