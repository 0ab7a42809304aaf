import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-proto';
import { GrpcInstrumentation } from '@opentelemetry/instrumentation-grpc';
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
  /** OTLP/HTTP endpoint base, e.g. http://jaeger:4318 (spans go to /v1/traces); export only when set. The HTTP exporter keeps @grpc/grpc-js unloaded until the gRPC instrumentation is in place. */
  otlpEndpoint?: string;
  /** Extra processors, e.g. a SimpleSpanProcessor over an InMemorySpanExporter in tests. */
  spanProcessors?: SpanProcessor[];
}

export interface Telemetry {
  shutdown(): Promise<void>;
}

/**
 * Starts the OpenTelemetry NodeSDK with gRPC and MongoDB instrumentation and W3C propagation.
 * Kafka spans come from @trellis/platform/messaging, not the kafkajs instrumentation: that one
 * parents every message of a `send` on the caller's context, which would cut each relayed outbox
 * event off from the RPC that wrote it. Call it before `@grpc/grpc-js`, `mongodb` or `kafkajs` are first required, or their
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
    textMapPropagator: new CompositePropagator({
      propagators: [new W3CTraceContextPropagator(), new W3CBaggagePropagator()],
    }),
    instrumentations: [
      new GrpcInstrumentation(),
      new MongoDBInstrumentation({ enhancedDatabaseReporting: false }),
    ],
  });
  sdk.start();
  return { shutdown: () => sdk.shutdown() };
}
