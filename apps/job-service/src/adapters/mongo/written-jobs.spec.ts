import type { JobDocument } from './job.repository';
import { WrittenJobs } from './written-jobs';

const doc = (id: string, state = 'PENDING', payloadChars = 2) =>
  ({ _id: id, state, payload_json: 'x'.repeat(payloadChars), result_json: null }) as JobDocument;

describe('WrittenJobs', () => {
  it('keeps PENDING and RUNNING documents only, the latest per job', () => {
    const written = new WrittenJobs({ maxJobs: 10, maxJsonChars: 1_000 });
    written.remember(doc('a'), 0);
    written.remember(doc('a', 'RUNNING'), 1);
    expect(written.get('a')?.state).toBe('RUNNING');
    written.remember(doc('a', 'SUCCEEDED'), 2);
    expect(written.get('a')).toBeUndefined();
    expect(written.size).toBe(0);
  });

  it('when full, makes room only from entries unused for a minute, else keeps the new one out', () => {
    const written = new WrittenJobs({ maxJobs: 2, maxJsonChars: 1_000 });
    written.remember(doc('a'), 0);
    written.remember(doc('b'), 30_000);
    written.remember(doc('c'), 40_000);
    expect(['a', 'b', 'c'].map((id) => written.get(id) !== undefined)).toEqual([true, true, false]);
    written.remember(doc('d'), 61_000);
    expect(['a', 'b', 'd'].map((id) => written.get(id) !== undefined)).toEqual([false, true, true]);
  });

  it('bounds the JSON it holds', () => {
    const written = new WrittenJobs({ maxJobs: 10, maxJsonChars: 100 });
    written.remember(doc('a', 'PENDING', 60), 0);
    written.remember(doc('b', 'PENDING', 60), 0);
    expect(written.get('b')).toBeUndefined();
    written.forget('a');
    written.remember(doc('b', 'PENDING', 60), 0);
    expect(written.get('b')).toBeDefined();
  });
});
