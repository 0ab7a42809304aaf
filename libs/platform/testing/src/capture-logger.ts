import { Writable } from 'node:stream';
import { createLogger, type Logger } from '@trellis/platform/logging';

/** A real logger whose JSON lines are kept in memory for assertions. */
export function captureLogger(
  service = 'test',
  /** Arrays to append to, e.g. one list shared by several services' loggers. */
  into: { lines: Array<Record<string, unknown>>; raw: string[] } = { lines: [], raw: [] },
): {
  logger: Logger;
  lines: Array<Record<string, unknown>>;
  raw: string[];
} {
  const { lines, raw } = into;
  const destination = new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const line of chunk.toString().split('\n')) {
        if (!line) continue;
        raw.push(line);
        lines.push(JSON.parse(line) as Record<string, unknown>);
      }
      done();
    },
  });
  return { logger: createLogger({ service, destination, level: 'debug' }), lines, raw };
}
