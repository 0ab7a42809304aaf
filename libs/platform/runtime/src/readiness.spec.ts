import { Readiness } from './readiness';

/** A Readiness over a dependency the test turns up and down; counts the checks it runs. */
function setup(settings: { idleMs?: number; retryMs?: number } = {}) {
  const state = { up: true, checks: 0, reported: [] as boolean[] };
  const readiness = new Readiness({
    check: async () => {
      state.checks++;
      return state.up;
    },
    report: (ready) => state.reported.push(ready),
    idleMs: settings.idleMs ?? 30_000,
    retryMs: settings.retryMs ?? 5_000,
    probeFreshMs: 1_000,
  });
  const last = () => state.reported[state.reported.length - 1];
  return { state, readiness, last };
}

describe('Readiness', () => {
  beforeEach(() => jest.useFakeTimers());
  afterEach(() => jest.useRealTimers());

  it('a probe gets a fresh check: the cached state flips to not ready once the dependency is down', async () => {
    const { state, readiness, last } = setup({ idleMs: 10 * 60_000 });
    await readiness.refresh();
    expect(last()).toBe(true);
    state.up = false;
    jest.advanceTimersByTime(2_000);
    await readiness.probe();
    expect(last()).toBe(false);
    state.up = true;
    jest.advanceTimersByTime(2_000);
    await readiness.probe();
    expect(last()).toBe(true);
    readiness.stop();
  });

  it('probes close together share one check', async () => {
    const { state, readiness } = setup();
    await readiness.refresh();
    const before = state.checks;
    await Promise.all([readiness.probe(), readiness.probe()]);
    await readiness.probe();
    expect(state.checks).toBe(before);
    readiness.stop();
  });

  it('with nobody probing, an outage is still noticed by the idle re-check, and recovery by the faster retry', async () => {
    const { state, readiness, last } = setup({ idleMs: 30_000, retryMs: 5_000 });
    await readiness.refresh();
    state.up = false;
    await jest.advanceTimersByTimeAsync(29_000);
    expect(last()).toBe(true);
    await jest.advanceTimersByTimeAsync(2_000);
    expect(last()).toBe(false);
    state.up = true;
    await jest.advanceTimersByTimeAsync(5_500);
    expect(last()).toBe(true);
    readiness.stop();
  });

  it('a suspected outage is checked at once', async () => {
    const { state, readiness, last } = setup({ idleMs: 10 * 60_000 });
    await readiness.refresh();
    state.up = false;
    readiness.suspect();
    await jest.advanceTimersByTimeAsync(0);
    expect(last()).toBe(false);
    readiness.stop();
  });

  it('a check that throws counts as not ready; a stopped one reports nothing more', async () => {
    const reported: boolean[] = [];
    const readiness = new Readiness({
      check: () => Promise.reject(new Error('down')),
      report: (ready) => reported.push(ready),
    });
    await readiness.refresh();
    expect(reported).toEqual([false]);
    readiness.stop();
    await jest.advanceTimersByTimeAsync(60_000);
    readiness.suspect();
    await readiness.probe();
    expect(reported).toEqual([false]);
  });
});
