import { type JobDocument, updateOf } from './job.repository';

const base = {
  _id: 'j1',
  state: 'PENDING',
  run_at: new Date(1_000),
  attempts: 0,
  backoff: { initial_delay_ms: 100, max_delay_ms: 1_000, multiplier: 2, jitter: 0 },
  progress: null,
  idempotency_key: 'k',
} as unknown as JobDocument;

describe('updateOf', () => {
  it('sets only the fields that differ, comparing dates and embedded documents by value', () => {
    const after = {
      ...base,
      state: 'RUNNING',
      run_at: new Date(1_000),
      attempts: 1,
      backoff: { ...base.backoff },
      progress: { percent: 5, message: '', counters: {}, updated_at: new Date(2_000) },
    } as JobDocument;
    expect(updateOf(base, after)).toEqual({
      $set: {
        state: 'RUNNING',
        attempts: 1,
        progress: { percent: 5, message: '', counters: {}, updated_at: new Date(2_000) },
      },
      $inc: { rev: 1 },
    });
  });

  it('unsets fields the new version no longer has, and is null when nothing changed', () => {
    const { idempotency_key: _dropped, ...rest } = base;
    expect(updateOf(base, rest as JobDocument)).toEqual({
      $unset: { idempotency_key: '' },
      $inc: { rev: 1 },
    });
    expect(updateOf(base, { ...base, run_at: new Date(1_000) })).toBeNull();
  });

  it('counts the change in rev and never sets or unsets rev itself', () => {
    const stored = { ...base, rev: 4 } as JobDocument;
    expect(updateOf(stored, { ...base, attempts: 2 })).toEqual({
      $set: { attempts: 2 },
      $inc: { rev: 1 },
    });
    expect(updateOf(stored, base)).toBeNull();
  });
});
