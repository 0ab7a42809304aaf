import {
  context as otelContext,
  createContextKey,
  ProxyTracerProvider,
  ROOT_CONTEXT,
  trace,
  type Context,
  type TextMapGetter,
} from '@opentelemetry/api';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import type { Metadata as GrpcMetadata } from '@grpc/grpc-js';
import type { Metadata } from 'nice-grpc-common';

const w3c = new W3CTraceContextPropagator();
const TRACE_KEYS = ['traceparent', 'tracestate'];

const niceGetter: TextMapGetter<Metadata> = {
  keys: () => TRACE_KEYS,
  get(carrier, key) {
    const value = carrier.get(key);
    return typeof value === 'string' ? value : undefined;
  },
};

const grpcJsGetter: TextMapGetter<GrpcMetadata> = {
  keys: () => TRACE_KEYS,
  get(carrier, key) {
    const [value] = carrier.get(key);
    return typeof value === 'string' ? value : undefined;
  },
};

/** Reads `traceparent`/`tracestate` from gRPC metadata. */
export function contextFromMetadata(metadata: Metadata): Context {
  return w3c.extract(otelContext.active(), metadata, niceGetter);
}

/** Reads `traceparent`/`tracestate` from grpc-js metadata, as `contextFromMetadata` does. */
export function contextFromGrpcMetadata(metadata: GrpcMetadata): Context {
  return w3c.extract(otelContext.active(), metadata, grpcJsGetter);
}

/** Writes the active trace context into gRPC metadata. */
export function injectIntoMetadata(ctx: Context, metadata: Metadata): void {
  w3c.inject(ctx, metadata, { set: (carrier, key, value) => carrier.set(key, value) });
}

/** `/pkg.Service/Method` → OTel rpc.* attributes. */
export function rpcAttributes(path: string) {
  const [, service = '', method = ''] = path.split('/');
  return { 'rpc.system': 'grpc', 'rpc.service': service, 'rpc.method': method };
}

// What the API falls back to when no SDK registered a tracer provider.
const NOOP_PROVIDER = new ProxyTracerProvider().getDelegate();
const PROBE = ROOT_CONTEXT.setValue(createContextKey('trellis.grpc.probe'), true);
const probeIsActive = () => otelContext.active() === PROBE;

/**
 * Whether a server span can be observed by anyone: an SDK records it, or a context manager makes
 * it (and the caller's trace context) visible to handlers, their logs and outgoing calls. With
 * neither — `TRACING_ENABLED=false`, where telemetry is never started — the span and the
 * traceparent parsing would be pure cost. Checked per call, so enabling tracing later still works.
 */
export function tracingObservable(): boolean {
  const provider = trace.getTracerProvider();
  if (!(provider instanceof ProxyTracerProvider) || provider.getDelegate() !== NOOP_PROVIDER)
    return true;
  return otelContext.with(PROBE, probeIsActive);
}
