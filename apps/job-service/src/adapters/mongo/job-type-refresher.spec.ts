import { captureLogger } from '@trellis/platform/testing';
import type { RefreshJobTypes } from '../../app/refresh-job-types.command';
import { JobTypeRefresher } from './job-type-refresher';

/** A RefreshJobTypes that counts its passes and applies `changes` types on the next one. */
function countingRefresh() {
  const state = { passes: 0, changes: 0 };
  const refresh = {
    async execute(): Promise<number> {
      state.passes++;
      const applied = state.changes;
      state.changes = 0;
      return applied;
    },
  } as unknown as RefreshJobTypes;
  return { state, refresh };
}

// Fake timers: passes are counted against the refresher's own timer, never the wall clock.
beforeEach(() => jest.useFakeTimers());
afterEach(() => jest.useRealTimers());

describe('JobTypeRefresher', () => {
  it("an idle refresher's reads space out up to its longest pace, and a change brings back the short one", async () => {
    const { state, refresh } = countingRefresh();
    const refresher = new JobTypeRefresher(refresh, 100, captureLogger().logger, 800);
    refresher.start();
    // Gaps 100, 200, 400, 800, 800, ...: passes at 100, 300, 700, 1500, 2300 and 3100 ms.
    await jest.advanceTimersByTimeAsync(3_000);
    expect(state.passes).toBe(5);
    await jest.advanceTimersByTimeAsync(800);
    expect(state.passes).toBe(6);
    // The pass at 3900 ms applies a change made on another replica: the next come 100 and 200 ms on.
    state.changes = 1;
    await jest.advanceTimersByTimeAsync(100);
    expect(state.passes).toBe(7);
    await jest.advanceTimersByTimeAsync(100);
    expect(state.passes).toBe(8);
    await jest.advanceTimersByTimeAsync(200);
    expect(state.passes).toBe(9);
    await refresher.stop();
  });
});
