import { trace } from '@opentelemetry/api';
import pino, { type DestinationStream, type Logger, type LoggerOptions } from 'pino';
import { redact, redactString } from './redact';

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

/**
 * The one way services log: JSON lines with `service`, and `trace_id`/`span_id` from the active
 * OpenTelemetry span, with every secret and email body redacted at any depth.
 */
export function createLogger(settings: LoggerSettings): Logger {
  const format = settings.format ?? (process.stdout.isTTY ? 'pretty' : 'json');
  const options: LoggerOptions = {
    level: settings.level ?? 'info',
    base: { service: settings.service },
    messageKey: 'msg',
    timestamp: pino.stdTimeFunctions.isoTime,
    formatters: {
      level: (label) => ({ level: label }),
      log: (object) => redact(object) as Record<string, unknown>,
    },
    hooks: {
      // Messages are free text; strip inline credentials such as `mongodb://user:pass@host`.
      logMethod(args, method) {
        const redacted = args.map((arg) => (typeof arg === 'string' ? redactString(arg) : arg));
        method.apply(this, redacted as Parameters<typeof method>);
      },
    },
    mixin() {
      const span = trace.getActiveSpan();
      if (!span) return {};
      const { traceId, spanId } = span.spanContext();
      return { trace_id: traceId, span_id: spanId };
    },
  };
  if (settings.destination) return pino(options, settings.destination);
  if (format === 'pretty') {
    return pino({
      ...options,
      transport: { target: 'pino-pretty', options: { colorize: true, singleLine: true } },
    });
  }
  return pino(options);
}
