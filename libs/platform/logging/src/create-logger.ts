import { trace } from '@opentelemetry/api';
import pino, { type DestinationStream, type Logger, type LoggerOptions } from 'pino';
import { maskEmails, redact, redactString } from './redact';

export type { Logger } from 'pino';

export interface LoggerSettings {
  /** Goes on every line as `service`. */
  service: string;
  level?: string;
  /** `json` (default when stdout is not a TTY) or `pretty` (default in a TTY). */
  format?: 'json' | 'pretty';
  /** Where lines go; tests pass a stream to read them back. Defaults to stdout. */
  destination?: DestinationStream;
}

/** The mixin's answer outside a span; never written to. */
const NO_TRACE: Record<string, never> = Object.freeze({});

let isoSecond = NaN;
let isoSecondPrefix = '';
let isoMs = NaN;
let isoField = '';

/**
 * pino's `isoTime` (`,"time":"2024-01-02T03:04:05.678Z"`), computed once per millisecond and its
 * date-and-seconds part once per second: `toISOString` is a measurable share of a log line.
 */
export function isoTime(): string {
  const now = Date.now();
  if (now !== isoMs) {
    const second = Math.floor(now / 1000);
    if (second !== isoSecond) {
      isoSecond = second;
      // Everything up to the milliseconds: `,"time":"2024-01-02T03:04:05.`
      isoSecondPrefix = `,"time":"${new Date(second * 1000).toISOString().slice(0, -4)}`;
    }
    const ms = now - second * 1000;
    isoMs = now;
    isoField = `${isoSecondPrefix}${ms < 10 ? '00' : ms < 100 ? '0' : ''}${ms}Z"`;
  }
  return isoField;
}

/** The log call's arguments with inline credentials stripped from strings; `args` when none has any. */
function redactStringArgs(args: unknown[]): unknown[] {
  for (let i = 0; i < args.length; i++) {
    const arg = args[i];
    if (typeof arg !== 'string') continue;
    const redacted = redactString(arg);
    if (redacted === arg) continue;
    const copy = args.slice();
    copy[i] = redacted;
    for (let j = i + 1; j < copy.length; j++) {
      const later = copy[j];
      if (typeof later === 'string') copy[j] = redactString(later);
    }
    return copy;
  }
  return args;
}

/** One destination per target: the loggers of the devstack's three services share stdout. */
const destinations = new Map<number | string, DestinationStream>();

/** Flush delay after a write, so a quiet stretch still reaches the file within this bound. */
const FLUSH_AFTER_MS = 250;

/**
 * Where JSON lines go (stdout unless `dest` names a file or descriptor): sonic-boom writing
 * asynchronously in blocks of at least 4 KiB, as pino's guide to asynchronous logging suggests,
 * flushed 250 ms after a write and on exit. With pino's default (a write per line as soon as the
 * previous one returns) an access line per GetAccount cost about a tenth more CPU per call in
 * bench/account. Not sonic-boom's periodicFlush: it writes (an empty string when nothing is
 * buffered) every 250 ms forever, per destination, which kept an idle `npm start` busy.
 */
export function lineDestination(dest: number | string = 1): DestinationStream {
  const existing = destinations.get(dest);
  if (existing) return existing;
  const stream = pino.destination({ dest, sync: false, minLength: 4096 });
  const write = stream.write.bind(stream);
  let timer: NodeJS.Timeout | undefined;
  const flushSoon = () => {
    timer = undefined;
    try {
      stream.flush();
    } catch {
      // Destroyed at exit: pino's own exit handler has flushed what there was.
    }
  };
  stream.write = (line: string) => {
    const written = write(line);
    timer ??= setTimeout(flushSoon, FLUSH_AFTER_MS).unref();
    return written;
  };
  destinations.set(dest, stream);
  return stream;
}

/**
 * The one way services log: JSON lines with `service`, and `trace_id`/`span_id` from the active
 * OpenTelemetry span, with every secret and email body redacted at any depth and every email
 * address masked (`n***@example.com`).
 */
export function createLogger(settings: LoggerSettings): Logger {
  const format = settings.format ?? (process.stdout.isTTY ? 'pretty' : 'json');
  const options: LoggerOptions = {
    level: settings.level ?? 'info',
    base: { service: settings.service },
    messageKey: 'msg',
    timestamp: isoTime,
    formatters: {
      level: (label) => ({ level: label }),
      log: (object) => redact(object) as Record<string, unknown>,
    },
    hooks: {
      // Messages are free text; strip inline credentials such as `mongodb://user:pass@host`.
      logMethod(args, method) {
        method.apply(this, redactStringArgs(args) as Parameters<typeof method>);
      },
      // Personal data: email addresses are masked in the finished line, so every field, message
      // (also one interpolated from format arguments), error message and stack, and child binding
      // is covered in one place rather than at each call site (a cheap `includes('@')` otherwise).
      streamWrite: maskEmails,
    },
    mixin() {
      const span = trace.getActiveSpan();
      if (!span) return NO_TRACE;
      const { traceId, spanId } = span.spanContext();
      return { trace_id: traceId, span_id: spanId };
    },
    // pino's default merges the line's fields into the mixin's object: a copy of every line's
    // object, needless when there is no span to add.
    mixinMergeStrategy: (fields, mixed) =>
      mixed === NO_TRACE ? fields : Object.assign(mixed, fields),
  };
  if (settings.destination) return pino(options, settings.destination);
  if (format === 'pretty') {
    return pino({
      ...options,
      transport: { target: 'pino-pretty', options: { colorize: true, singleLine: true } },
    });
  }
  return pino(options, lineDestination());
}
