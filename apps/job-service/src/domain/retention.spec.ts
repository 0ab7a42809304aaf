import { DEFAULT_RETENTION, effectiveRetention, isTerminal, mayRemove } from './retention';

describe('retention', () => {
  it('fills what a type leaves unset with the default, per state and per limit', () => {
    const rules = effectiveRetention({ DEAD: { maxCount: 7 } }, DEFAULT_RETENTION);
    expect(rules.DEAD).toEqual({ maxAgeMs: DEFAULT_RETENTION.DEAD.maxAgeMs, maxCount: 7 });
    expect(rules.SUCCEEDED).toEqual(DEFAULT_RETENTION.SUCCEEDED);
    expect(effectiveRetention(undefined, DEFAULT_RETENTION)).toEqual(DEFAULT_RETENTION);
  });

  it('never lets a job go while its parent exists and has not ended', () => {
    expect(mayRemove(null)).toBe(true);
    for (const state of ['SUCCEEDED', 'DEAD', 'CANCELLED']) expect(mayRemove(state)).toBe(true);
    // WAITING_CHILDREN (flows) or any state added later counts as not terminal.
    for (const state of ['PENDING', 'RUNNING', 'WAITING_CHILDREN'])
      expect(mayRemove(state)).toBe(false);
    expect(isTerminal('RUNNING')).toBe(false);
  });
});
