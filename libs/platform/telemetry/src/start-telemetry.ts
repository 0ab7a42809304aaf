import type { OTLPTraceExporter as OtlpTraceExporterClass } from '@opentelemetry/exporter-trace-otlp-proto';
import { registerInstrumentations } from '@opentelemetry/instrumentation';
import { MongoDBInstrumentation } from '@opentelemetry/instrumentation-mongodb';
import { resourceFromAttributes } from '@opentelemetry/resources';
import {
  BatchSpanProcessor,
  NoopSpanProcessor,
  type SpanProcessor,
} from '@opentelemetry/sdk-trace-base';
import { NodeTracerProvider } from '@opentelemetry/sdk-trace-node';
import { ATTR_SERVICE_NAME, ATTR_SERVICE_VERSION } from '@opentelemetry/semantic-conventions';
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
 * Starts OpenTelemetry tracing: a NodeTracerProvider with the AsyncLocalStorage context manager,
 * W3C propagation and the MongoDB instrumentation. RPC spans come from the gRPC kit's own
 * middleware (server and client), so they exist in bundles and tests too, where
 * auto-instrumentation cannot patch modules.
 * Kafka spans come from @trellis/platform/messaging, not the kafkajs instrumentation: that one
 * parents every message of a `send` on the caller's context, which would cut each relayed outbox
 * event off from the RPC that wrote it. Call it before `mongodb` is first required, or its
 * calls are not instrumented. Spans always get real ids (so logs and Kafka headers carry a trace
 * id) even when nothing exports them. Log correlation is done by the logger's own mixin.
 *
 * Not NodeSDK: it loads every exporter, the logs and metrics SDKs (~460 modules, a large part of
 * `npm start`'s start-up) and builds an OTLP metric exporter from the environment that waits on
 * localhost:4318 at shutdown. Metrics are prom-client's /metrics; only traces go over OTLP.
 */
export function startTelemetry(settings: TelemetrySettings): Telemetry {
  const spanProcessors: SpanProcessor[] = [...(settings.spanProcessors ?? [])];
  if (settings.otlpEndpoint) {
    // Loaded only when exporting: the exporter and its protobuf encoders are ~220 modules.
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const { OTLPTraceExporter } = require('@opentelemetry/exporter-trace-otlp-proto') as {
      OTLPTraceExporter: typeof OtlpTraceExporterClass;
    };
    spanProcessors.push(
      new BatchSpanProcessor(
        new OTLPTraceExporter({ url: `${settings.otlpEndpoint.replace(/\/$/, '')}/v1/traces` }),
      ),
    );
  }
  if (spanProcessors.length === 0) spanProcessors.push(new NoopSpanProcessor());
  const provider = new NodeTracerProvider({
    resource: resourceFromAttributes({
      [ATTR_SERVICE_NAME]: settings.serviceName,
      ...(settings.serviceVersion ? { [ATTR_SERVICE_VERSION]: settings.serviceVersion } : {}),
    }),
    spanProcessors,
  });
  provider.register({
    propagator: new CompositePropagator({
      propagators: [new W3CTraceContextPropagator(), new W3CBaggagePropagator()],
    }),
  });
  const unregister = registerInstrumentations({
    tracerProvider: provider,
    instrumentations: [new MongoDBInstrumentation({ enhancedDatabaseReporting: false })],
  });
  return {
    async shutdown() {
      unregister();
      await provider.shutdown();
    },
  };
}
