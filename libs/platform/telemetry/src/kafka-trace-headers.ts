import { context, ROOT_CONTEXT, type Context } from '@opentelemetry/api';
import { W3CTraceContextPropagator } from '@opentelemetry/core';

/** Kafka header values as kafkajs delivers them. */
export type KafkaHeaders = Record<string, Buffer | string | (Buffer | string)[] | undefined>;

// Explicit W3C propagator so outbox rows and Kafka headers carry `traceparent`/`tracestate` even
// where no SDK registered a global propagator (tests, scripts).
const w3c = new W3CTraceContextPropagator();

/** `traceparent`/`tracestate` of `ctx` (default: the active context) as string headers. */
export function traceHeaders(ctx: Context = context.active()): Record<string, string> {
  const carrier: Record<string, string> = {};
  w3c.inject(ctx, carrier, {
    set: (c, key, value) => {
      c[key] = value;
    },
  });
  return carrier;
}

/** The context whose remote parent is the span named in `traceparent`, if any. */
export function contextFromTraceHeaders(
  headers: KafkaHeaders | undefined,
  base: Context = ROOT_CONTEXT,
): Context {
  if (!headers) return base;
  return w3c.extract(base, headers, {
    keys: (c) => Object.keys(c),
    get: (c, key) => {
      const value = c[key];
      const first = Array.isArray(value) ? value[0] : value;
      return first === undefined ? undefined : first.toString();
    },
  });
}
