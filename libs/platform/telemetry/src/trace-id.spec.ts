import { trace } from '@opentelemetry/api';
import { InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { startTelemetry } from './start-telemetry';
import { activeTraceId, validTraceId } from './trace-id';

describe('trace ids', () => {
  const telemetry = startTelemetry({
    serviceName: 'trace-id-test',
    spanProcessors: [new SimpleSpanProcessor(new InMemorySpanExporter())],
  });
  afterAll(() => telemetry.shutdown());

  it('keeps a W3C trace id and drops the all-zero or malformed one', () => {
    expect(validTraceId('0'.repeat(32))).toBe('');
    expect(validTraceId('4bf92f3577b34da6a3ce929d0e0e4736')).toBe(
      '4bf92f3577b34da6a3ce929d0e0e4736',
    );
    expect(validTraceId('4BF92F3577B34DA6A3CE929D0E0E4736')).toBe('');
    expect(validTraceId('4bf92f35')).toBe('');
    expect(validTraceId(undefined)).toBe('');
  });

  it('is the active span’s trace id, or empty outside any span', () => {
    expect(activeTraceId()).toBe('');
    trace.getTracer('test').startActiveSpan('call', (span) => {
      expect(activeTraceId()).toBe(span.spanContext().traceId);
      expect(activeTraceId()).toMatch(/^[0-9a-f]{32}$/);
      span.end();
    });
    expect(activeTraceId()).toBe('');
  });
});
