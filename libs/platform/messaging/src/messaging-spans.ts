import { context, SpanKind, trace, type Span } from '@opentelemetry/api';
import {
  contextFromTraceHeaders,
  traceHeaders,
  type KafkaHeaders,
} from '@trellis/platform/telemetry';

const tracer = trace.getTracer('@trellis/platform/messaging');

/**
 * A PRODUCER span for one message, child of the context stored with it (the RPC that wrote the
 * event), and the headers that carry that span to consumers. Names and attributes follow the
 * OpenTelemetry messaging conventions.
 */
export function startPublishSpan(
  topic: string,
  key: string,
  storedHeaders: Record<string, string>,
): { span: Span; headers: Record<string, string> } {
  const parent = contextFromTraceHeaders(storedHeaders);
  const span = tracer.startSpan(
    `send ${topic}`,
    {
      kind: SpanKind.PRODUCER,
      attributes: {
        'messaging.system': 'kafka',
        'messaging.operation.type': 'send',
        'messaging.destination.name': topic,
        'messaging.kafka.message.key': key,
      },
    },
    parent,
  );
  return { span, headers: traceHeaders(trace.setSpan(parent, span)) };
}

/** Runs `work` inside a CONSUMER span whose parent is the producer span named in the headers. */
export async function withProcessSpan<T>(
  topic: string,
  partition: number,
  offset: string,
  headers: KafkaHeaders | undefined,
  work: () => Promise<T>,
): Promise<T> {
  const parent = contextFromTraceHeaders(headers);
  const span = tracer.startSpan(
    `process ${topic}`,
    {
      kind: SpanKind.CONSUMER,
      attributes: {
        'messaging.system': 'kafka',
        'messaging.operation.type': 'process',
        'messaging.destination.name': topic,
        'messaging.destination.partition.id': String(partition),
        'messaging.kafka.offset': Number(offset),
      },
    },
    parent,
  );
  try {
    return await context.with(trace.setSpan(parent, span), work);
  } catch (err) {
    span.recordException(err as Error);
    span.setStatus({ code: 2, message: (err as Error).message });
    throw err;
  } finally {
    span.end();
  }
}
