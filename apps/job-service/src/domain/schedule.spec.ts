import {
  appendRuns,
  jitterOf,
  newSchedule,
  pause,
  planTicks,
  redefine,
  resume,
  ticksFrom,
  TICK_GRACE_MS,
  type Schedule,
  type ScheduleDefinition,
} from './schedule';

const at = (iso: string) => new Date(iso);
const iso = (dates: Date[]) => dates.map((d) => d.toISOString());

function definition(over: Partial<ScheduleDefinition> = {}): ScheduleDefinition {
  return {
    template: { type: 'demo.echo', payload: { message: 'hi' }, priority: 0, maxAttempts: 0 },
    timing: { kind: 'cron', cron: '*/5 * * * *', timeZone: 'UTC' },
    startAt: null,
    endAt: null,
    jitterMs: 0,
    catchUp: 'RUN_ONCE',
    maxCatchUpRuns: 10,
    overlap: 'ALLOW_ALL',
    ...over,
  };
}

/** Fires everything due at `now` as a ticker would, the jobs recorded as runs. */
function tick(s: Schedule, now: Date, previous: Parameters<typeof planTicks>[1] = null) {
  const plan = planTicks(s, previous, now);
  const schedule = appendRuns(
    plan.schedule,
    plan.fire.map((t, i) => ({
      scheduledAt: t,
      jobId: `job-${i}`,
      firedAt: now,
      triggered: false,
    })),
  );
  return { ...plan, schedule };
}

describe('schedule ticks', () => {
  it('a cron schedule ticks on its expression, from the first tick after creation', () => {
    const s = newSchedule('c', definition(), false, at('2027-01-01T00:02:00Z'));
    expect(s.nextTickAt).toEqual(at('2027-01-01T00:05:00Z'));
    expect(iso(ticksFrom(s.definition, s.nextTickAt, 3, s.createdAt))).toEqual([
      '2027-01-01T00:05:00.000Z',
      '2027-01-01T00:10:00.000Z',
      '2027-01-01T00:15:00.000Z',
    ]);
    expect(tick(s, at('2027-01-01T00:04:59Z')).fire).toEqual([]);
    const first = tick(s, at('2027-01-01T00:05:00.300Z'));
    expect(iso(first.fire)).toEqual(['2027-01-01T00:05:00.000Z']);
    expect(first.schedule.nextTickAt).toEqual(at('2027-01-01T00:10:00Z'));
    expect(first.schedule.dueAt).toEqual(at('2027-01-01T00:10:00Z'));
  });

  it('a cron schedule reads its expression in its time zone', () => {
    const s = newSchedule(
      'tz',
      definition({ timing: { kind: 'cron', cron: '0 9 * * *', timeZone: 'America/New_York' } }),
      false,
      at('2027-01-01T00:00:00Z'),
    );
    expect(s.nextTickAt).toEqual(at('2027-01-01T14:00:00Z'));
  });

  it('an interval schedule ticks at start + k × interval and stops after end', () => {
    const s = newSchedule(
      'i',
      definition({
        timing: { kind: 'interval', intervalMs: 90_000 },
        startAt: at('2027-01-01T00:00:00Z'),
        endAt: at('2027-01-01T00:04:00Z'),
      }),
      false,
      at('2026-12-31T00:00:00Z'),
    );
    expect(iso(ticksFrom(s.definition, s.nextTickAt, 10, s.createdAt))).toEqual([
      '2027-01-01T00:00:00.000Z',
      '2027-01-01T00:01:30.000Z',
      '2027-01-01T00:03:00.000Z',
    ]);
    const done = tick(s, at('2027-01-01T00:03:00Z'), null);
    expect(done.fire).toHaveLength(1);
    expect(done.schedule.nextTickAt).toBeNull();
    expect(done.schedule.dueAt).toBeNull();
  });

  it('catching up after a year of per-second ticks looks only at the latest ones', () => {
    const s = newSchedule(
      'long',
      definition({
        timing: { kind: 'cron', cron: '* * * * * *', timeZone: 'UTC' },
        catchUp: 'RUN_EACH',
        maxCatchUpRuns: 2,
      }),
      false,
      at('2026-01-01T00:00:00Z'),
    );
    const plan = tick(s, at('2027-01-01T00:00:00.500Z'));
    expect(iso(plan.fire)).toEqual(['2026-12-31T23:59:59.000Z', '2027-01-01T00:00:00.000Z']);
    expect(plan.schedule.nextTickAt).toEqual(at('2027-01-01T00:00:01Z'));
  });

  it('jitter is deterministic per tick and below the bound', () => {
    const t = at('2027-01-01T00:00:00Z');
    expect(jitterOf('a', t, 10_000)).toBe(jitterOf('a', t, 10_000));
    expect(jitterOf('a', t, 10_000)).toBeGreaterThanOrEqual(0);
    expect(jitterOf('a', t, 10_000)).toBeLessThan(10_000);
    expect(jitterOf('a', t, 0)).toBe(0);
  });
});

describe('DST: 02:30 daily in Europe/Berlin', () => {
  const daily = definition({
    timing: { kind: 'cron', cron: '30 2 * * *', timeZone: 'Europe/Berlin' },
  });

  it('spring forward (2027-03-28, 02:00 → 03:00 CEST): runs once, at 03:00 CEST', () => {
    const s = newSchedule('dst', daily, false, at('2027-03-26T12:00:00Z'));
    expect(iso(ticksFrom(daily, s.nextTickAt, 3, s.createdAt))).toEqual([
      '2027-03-27T01:30:00.000Z', // 02:30 CET
      '2027-03-28T01:00:00.000Z', // 02:30 does not exist: 03:00 CEST
      '2027-03-29T00:30:00.000Z', // 02:30 CEST
    ]);
  });

  it('fall back (2027-10-31, 03:00 CEST → 02:00 CET): runs once, at the first 02:30', () => {
    const s = newSchedule('dst', daily, false, at('2027-10-29T12:00:00Z'));
    expect(iso(ticksFrom(daily, s.nextTickAt, 3, s.createdAt))).toEqual([
      '2027-10-30T00:30:00.000Z', // 02:30 CEST
      '2027-10-31T00:30:00.000Z', // the first 02:30 (CEST); the second (01:30Z, CET) does not run
      '2027-11-01T01:30:00.000Z', // 02:30 CET
    ]);
  });
});

describe('catch-up policies (ticks missed by more than the grace)', () => {
  // Every 5 minutes from 00:05; the ticker comes back at 00:31:30 — ticks 00:05 … 00:30 are due,
  // all late by more than the grace.
  const created = at('2027-01-01T00:01:00Z');
  const back = at('2027-01-01T00:31:30Z');

  it('SKIP: missed ticks create nothing; the next tick is the first after now', () => {
    const s = newSchedule('s', definition({ catchUp: 'SKIP' }), false, created);
    const plan = tick(s, back);
    expect(plan.fire).toEqual([]);
    expect(iso(plan.skipped)).toEqual(['2027-01-01T00:30:00.000Z']);
    expect(plan.schedule.nextTickAt).toEqual(at('2027-01-01T00:35:00Z'));
  });

  it('SKIP still fires a tick that is only late by less than the grace', () => {
    const s = newSchedule('s', definition({ catchUp: 'SKIP' }), false, created);
    const plan = tick(s, new Date(at('2027-01-01T00:05:00Z').getTime() + TICK_GRACE_MS));
    expect(iso(plan.fire)).toEqual(['2027-01-01T00:05:00.000Z']);
  });

  it('RUN_ONCE: the missed ticks together create one job, for the latest', () => {
    const s = newSchedule('o', definition({ catchUp: 'RUN_ONCE' }), false, created);
    const plan = tick(s, back);
    expect(iso(plan.fire)).toEqual(['2027-01-01T00:30:00.000Z']);
    expect(plan.schedule.nextTickAt).toEqual(at('2027-01-01T00:35:00Z'));
  });

  it('RUN_EACH up to N: the latest N missed ticks each create a job', () => {
    const s = newSchedule(
      'e',
      definition({ catchUp: 'RUN_EACH', maxCatchUpRuns: 3 }),
      false,
      created,
    );
    const plan = tick(s, back);
    expect(iso(plan.fire)).toEqual([
      '2027-01-01T00:20:00.000Z',
      '2027-01-01T00:25:00.000Z',
      '2027-01-01T00:30:00.000Z',
    ]);
    expect(plan.schedule.lastRuns.map((r) => r.scheduledAt.toISOString())).toEqual([
      '2027-01-01T00:30:00.000Z',
      '2027-01-01T00:25:00.000Z',
      '2027-01-01T00:20:00.000Z',
    ]);
  });
});

describe('overlap policies (the previous job still PENDING or RUNNING)', () => {
  const created = at('2027-01-01T00:01:00Z');
  const onTime = at('2027-01-01T00:05:01Z');
  const running = { jobId: 'prev', state: 'RUNNING' as const };
  const finished = { jobId: 'prev', state: 'SUCCEEDED' as const };

  it('SKIP: the tick creates no job while the previous runs, and one once it ended', () => {
    const s = newSchedule('s', definition({ overlap: 'SKIP' }), false, created);
    expect(tick(s, onTime, running).fire).toEqual([]);
    expect(tick(s, onTime, running).skipped).toHaveLength(1);
    expect(tick(s, onTime, finished).fire).toHaveLength(1);
  });

  it('BUFFER_ONE: the tick waits for the previous job, then fires; one waits at most', () => {
    const s = newSchedule('b', definition({ overlap: 'BUFFER_ONE' }), false, created);
    const held = tick(s, onTime, running);
    expect(held.fire).toEqual([]);
    expect(held.schedule.bufferedTickAt).toEqual(at('2027-01-01T00:05:00Z'));
    // Re-checked soon, not only at the next tick.
    expect(held.schedule.dueAt!.getTime()).toBeLessThan(at('2027-01-01T00:10:00Z').getTime());
    const stillRunning = tick(held.schedule, at('2027-01-01T00:10:01Z'), running);
    expect(stillRunning.fire).toEqual([]);
    expect(stillRunning.schedule.bufferedTickAt).toEqual(at('2027-01-01T00:10:00Z'));
    expect(iso(stillRunning.skipped)).toEqual(['2027-01-01T00:05:00.000Z']);
    const released = tick(stillRunning.schedule, at('2027-01-01T00:11:00Z'), finished);
    expect(iso(released.fire)).toEqual(['2027-01-01T00:10:00.000Z']);
    expect(released.schedule.bufferedTickAt).toBeNull();
    expect(released.schedule.dueAt).toEqual(at('2027-01-01T00:15:00Z'));
  });

  it('ALLOW_ALL: every tick creates its job', () => {
    const s = newSchedule('a', definition({ overlap: 'ALLOW_ALL' }), false, created);
    expect(tick(s, onTime, running).fire).toHaveLength(1);
  });

  it('CANCEL_PREVIOUS: the previous job is cancelled and the tick creates its job', () => {
    const s = newSchedule('c', definition({ overlap: 'CANCEL_PREVIOUS' }), false, created);
    const plan = tick(s, onTime, running);
    expect(plan.cancel).toBe('prev');
    expect(plan.fire).toHaveLength(1);
    expect(tick(s, onTime, finished).cancel).toBeNull();
  });

  it('with RUN_EACH, a batch of caught-up ticks overlaps itself', () => {
    const each = (overlap: ScheduleDefinition['overlap']) =>
      tick(
        newSchedule(
          'x',
          definition({ overlap, catchUp: 'RUN_EACH', maxCatchUpRuns: 3 }),
          false,
          created,
        ),
        at('2027-01-01T00:31:00Z'),
        null,
      );
    expect(each('ALLOW_ALL').fire).toHaveLength(3);
    expect(each('SKIP').fire).toHaveLength(1);
    expect(each('BUFFER_ONE').fire).toHaveLength(1);
    expect(each('BUFFER_ONE').schedule.bufferedTickAt).toEqual(at('2027-01-01T00:30:00Z'));
    expect(iso(each('CANCEL_PREVIOUS').fire)).toEqual(['2027-01-01T00:30:00.000Z']);
  });
});

describe('pause, resume, redefine', () => {
  it('resume skips the ticks that fell into the pause', () => {
    const s = newSchedule('p', definition(), false, at('2027-01-01T00:01:00Z'));
    const paused = pause(s, at('2027-01-01T00:02:00Z'));
    expect(paused.paused).toBe(true);
    const resumed = resume(paused, at('2027-01-01T01:02:00Z'));
    expect(resumed.paused).toBe(false);
    expect(resumed.nextTickAt).toEqual(at('2027-01-01T01:05:00Z'));
  });

  it('redefine restarts the ticks from now and keeps the runs', () => {
    const s = tick(
      newSchedule('r', definition(), false, at('2027-01-01T00:01:00Z')),
      at('2027-01-01T00:05:00Z'),
    ).schedule;
    const changed = redefine(
      s,
      definition({ timing: { kind: 'cron', cron: '0 * * * *', timeZone: 'UTC' } }),
      at('2027-01-01T00:06:00Z'),
    );
    expect(changed.nextTickAt).toEqual(at('2027-01-01T01:00:00Z'));
    expect(changed.lastRuns).toHaveLength(1);
  });
});
