import { captureLogger } from '@trellis/platform/testing';
import type {
  FireDueSchedules,
  FireDueSchedulesResult,
} from '../../app/fire-due-schedules.command';
import { ScheduleTicker } from './schedule-ticker';

/** A FireDueSchedules that counts its passes and reports `nextDueInMs` as the test sets it. */
function countingPasses() {
  const state = { passes: 0, nextDueInMs: null as number | null };
  const fireDue = {
    async execute(): Promise<FireDueSchedulesResult> {
      state.passes++;
      return { due: 0, fired: 0, jobs: 0, failures: [], nextDueInMs: state.nextDueInMs };
    },
  } as unknown as FireDueSchedules;
  return { state, fireDue };
}

/** A started ticker over a counting FireDueSchedules. */
function startTicker(intervalMs: number, nextDueInMs: number | null) {
  const { state, fireDue } = countingPasses();
  state.nextDueInMs = nextDueInMs;
  const ticker = new ScheduleTicker(
    fireDue,
    { intervalMs, maxIdleMs: 30_000 },
    captureLogger().logger,
  );
  ticker.start();
  return { state, ticker };
}

// Fake timers: passes are counted against the ticker's own timer, never against the wall clock.
beforeEach(() => jest.useFakeTimers());
afterEach(() => jest.useRealTimers());

describe('ScheduleTicker', () => {
  it('an idle ticker sleeps its longest pace when no schedule is due', async () => {
    const { state, ticker } = startTicker(10, null);
    await jest.advanceTimersByTimeAsync(29_000);
    expect(state.passes).toBe(1); // the first pass at start, then nothing for 29 s
    await jest.advanceTimersByTimeAsync(1_000);
    expect(state.passes).toBe(2);
    await ticker.stop();
  });

  it('sleeps until the earliest due schedule, not its longest pace', async () => {
    const { state, ticker } = startTicker(10, 500);
    await jest.advanceTimersByTimeAsync(400);
    expect(state.passes).toBe(1);
    await jest.advanceTimersByTimeAsync(200);
    expect(state.passes).toBe(2);
    await ticker.stop();
  });

  it('a schedule changed in this replica wakes the sleeping ticker at once', async () => {
    const { state, ticker } = startTicker(10, null);
    await jest.advanceTimersByTimeAsync(1_000);
    expect(state.passes).toBe(1);
    // CreateSchedule stored one due in 2 s: the woken pass learns it and sleeps until then.
    state.nextDueInMs = 2_000;
    ticker.wake();
    await jest.advanceTimersByTimeAsync(0);
    expect(state.passes).toBe(2);
    await jest.advanceTimersByTimeAsync(2_000);
    expect(state.passes).toBe(3);
    await ticker.stop();
  });

  it('a schedule left due (a failed firing) is retried at intervalMs, not in a tight loop', async () => {
    const { state, ticker } = startTicker(1_000, -5);
    await jest.advanceTimersByTimeAsync(2_500);
    expect(state.passes).toBe(3);
    await ticker.stop();
  });
});
