import type { DomainError } from '@trellis/platform/errors';
import { appendLogLines, emptyJobLog, MAX_LOG_LINE_CHARS, type LoggingJob } from './job-log';

const now = new Date('2026-01-01T00:00:00Z');
const job: LoggingJob = { id: 'j1', state: 'RUNNING', leaseToken: 'tok', attempts: 2 };
const lines = (...messages: string[]) => messages.map((message) => ({ message }));
const roomy = { maxLines: 100, maxBytes: 10_000 };

describe('appendLogLines', () => {
  it('numbers lines from 1 and tags them with the attempt and time', () => {
    const log = appendLogLines(emptyJobLog('j1', now), job, 'tok', lines('a', 'b'), roomy, now);
    expect(log.lines).toEqual([
      { seq: 1, message: 'a', loggedAt: now, attempt: 2 },
      { seq: 2, message: 'b', loggedAt: now, attempt: 2 },
    ]);
    expect(log).toMatchObject({ dropped: 0, bytes: 2 });
  });

  it('keeps the newest lines within max lines and counts the dropped ones', () => {
    let log = emptyJobLog('j1', now);
    for (let i = 1; i <= 7; i++)
      log = appendLogLines(log, job, 'tok', lines(`line ${i}`), { ...roomy, maxLines: 3 }, now);
    expect(log.lines.map((l) => [l.seq, l.message])).toEqual([
      [5, 'line 5'],
      [6, 'line 6'],
      [7, 'line 7'],
    ]);
    expect(log.dropped).toBe(4);
  });

  it('keeps the newest lines within max bytes (UTF-8)', () => {
    const limits = { maxLines: 100, maxBytes: 10 };
    let log = appendLogLines(emptyJobLog('j1', now), job, 'tok', lines('aaaa', 'éé'), limits, now);
    expect(log.bytes).toBe(8);
    log = appendLogLines(log, job, 'tok', lines('bbbb'), limits, now);
    expect(log.lines.map((l) => l.message)).toEqual(['éé', 'bbbb']);
    expect(log).toMatchObject({ dropped: 1, bytes: 8 });
    // A line larger than the whole bound is dropped itself, and counted.
    log = appendLogLines(log, job, 'tok', lines('x'.repeat(11)), limits, now);
    expect(log).toMatchObject({ lines: [], dropped: 4, bytes: 0 });
    log = appendLogLines(log, job, 'tok', lines('next'), limits, now);
    expect(log.lines).toMatchObject([{ seq: 5, message: 'next' }]);
  });

  it('cuts long lines and keeps a worker clock ahead of ours out of the future', () => {
    const later = new Date(now.getTime() + 60_000);
    const earlier = new Date(now.getTime() - 1_000);
    const log = appendLogLines(
      emptyJobLog('j1', now),
      job,
      'tok',
      [
        { message: 'x'.repeat(MAX_LOG_LINE_CHARS + 10), loggedAt: later },
        { message: 'y', loggedAt: earlier },
      ],
      { maxLines: 10, maxBytes: 100_000 },
      now,
    );
    expect(log.lines[0].message).toHaveLength(MAX_LOG_LINE_CHARS);
    expect(log.lines.map((l) => l.loggedAt)).toEqual([now, earlier]);
  });

  it('refuses a stale lease or a job that is not running (LEASE_LOST)', () => {
    const log = emptyJobLog('j1', now);
    for (const [running, token] of [
      [job, 'old'],
      [{ ...job, state: 'SUCCEEDED' as const }, 'tok'],
      [job, ''],
    ] as const) {
      let error: DomainError | undefined;
      try {
        appendLogLines(log, running, token, lines('a'), roomy, now);
      } catch (err) {
        error = err as DomainError;
      }
      expect(error?.code).toBe('JOB.LEASE_LOST');
    }
  });
});
