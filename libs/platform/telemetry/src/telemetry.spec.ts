import { context, trace } from '@opentelemetry/api';
import { InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { Counter } from 'prom-client';
import { contextFromTraceHeaders, traceHeaders } from './kafka-trace-headers';
import { createMetricsRegistry, startMetricsServer } from './metrics';
import { startTelemetry } from './start-telemetry';

describe('telemetry', () => {
  const exporter = new InMemorySpanExporter();
  const telemetry = startTelemetry({
    serviceName: 'telemetry-test',
    spanProcessors: [new SimpleSpanProcessor(exporter)],
  });
  afterAll(() => telemetry.shutdown());

  it('carries one trace from a producer span through Kafka headers into a consumer span', () => {
    const tracer = trace.getTracer('test');
    let headers: Record<string, string> = {};
    let producerTraceId = '';
    tracer.startActiveSpan('publish', (span) => {
      producerTraceId = span.spanContext().traceId;
      headers = traceHeaders();
      span.end();
    });
    expect(headers.traceparent).toMatch(new RegExp(`^00-${producerTraceId}-[0-9a-f]{16}-01$`));

    const kafkaHeaders = { traceparent: Buffer.from(headers.traceparent) };
    const consumerSpan = tracer.startSpan('consume', {}, contextFromTraceHeaders(kafkaHeaders));
    consumerSpan.end();
    expect(consumerSpan.spanContext().traceId).toBe(producerTraceId);
    expect(exporter.getFinishedSpans().map((s) => s.name)).toEqual(['publish', 'consume']);
  });

  it('without headers a consumer starts a new trace', () => {
    const ctx = contextFromTraceHeaders(undefined);
    expect(trace.getSpan(ctx)).toBeUndefined();
    expect(traceHeaders(context.active())).toEqual({});
  });

  it('serves Prometheus metrics over HTTP', async () => {
    const registry = createMetricsRegistry('telemetry-test');
    const counter = new Counter({
      name: 'test_events_total',
      help: 'events',
      registers: [registry],
    });
    counter.inc(3);
    const server = await startMetricsServer(registry, 0, '127.0.0.1');
    try {
      const res = await fetch(server.url);
      expect(res.status).toBe(200);
      const body = await res.text();
      expect(body).toContain('test_events_total{service="telemetry-test"} 3');
      expect(body).toContain('process_cpu_user_seconds_total');
      expect((await fetch(server.url.replace('/metrics', '/other'))).status).toBe(404);
    } finally {
      await server.close();
    }
  });
});
