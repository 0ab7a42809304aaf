import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-proto';
import { MongoDBInstrumentation } from '@opentelemetry/instrumentation-mongodb';
import { NodeSDK } from '@opentelemetry/sdk-node';
import {
  BatchSpanProcessor,
  NoopSpanProcessor,
  type SpanProcessor,
} from '@opentelemetry/sdk-trace-base';
import {
  CompositePropagator,
  W3CBaggagePropagator,
  W3CTraceContextPropagator,
} from '@opentelemetry/core';

export interface TelemetrySettings {
  serviceName: string;
  serviceVersion?: string;
  /** OTLP/HTTP endpoint base, e.g. http://jaeger:4318 (spans go to /v1/traces); export only when set. */
  otlpEndpoint?: string;
  /** Extra processors, e.g. a SimpleSpanProcessor over an InMemorySpanExporter in tests. */
  spanProcessors?: SpanProcessor[];
}

export interface Telemetry {
  shutdown(): Promise<void>;
}

/**
 * Starts the OpenTelemetry NodeSDK with MongoDB instrumentation and W3C propagation. RPC spans
 * come from the gRPC kit's own middleware (server and client), so they exist in bundles and tests
 * too, where auto-instrumentation cannot patch modules.
 * Kafka spans come from @trellis/platform/messaging, not the kafkajs instrumentation: that one
 * parents every message of a `send` on the caller's context, which would cut each relayed outbox
 * event off from the RPC that wrote it. Call it before `mongodb` is first required, or its
 * calls are not instrumented. Spans always get real ids (so logs and Kafka headers carry a trace
 * id) even when nothing exports them. Log correlation is done by the logger's own mixin.
 */
export function startTelemetry(settings: TelemetrySettings): Telemetry {
  const spanProcessors: SpanProcessor[] = [...(settings.spanProcessors ?? [])];
  if (settings.otlpEndpoint) {
    spanProcessors.push(
      new BatchSpanProcessor(
        new OTLPTraceExporter({ url: `${settings.otlpEndpoint.replace(/\/$/, '')}/v1/traces` }),
      ),
    );
  }
  if (spanProcessors.length === 0) spanProcessors.push(new NoopSpanProcessor());
  const sdk = new NodeSDK({
    serviceName: settings.serviceName,
    autoDetectResources: false,
    spanProcessors,
    logRecordProcessors: [],
    // Metrics are prom-client's /metrics. Left unset, the SDK would build an OTLP metric exporter
    // from the environment that pushes to localhost:4318 every minute and waits on it at shutdown.
    metricReaders: [],
    textMapPropagator: new CompositePropagator({
      propagators: [new W3CTraceContextPropagator(), new W3CBaggagePropagator()],
    }),
    instrumentations: [new MongoDBInstrumentation({ enhancedDatabaseReporting: false })],
  });
  sdk.start();
  return { shutdown: () => sdk.shutdown() };
}
