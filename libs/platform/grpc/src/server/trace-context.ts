import { context as otelContext, type Context } from '@opentelemetry/api';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import type { Metadata } from 'nice-grpc-common';

const w3c = new W3CTraceContextPropagator();

/** Reads `traceparent`/`tracestate` from gRPC metadata. */
export function contextFromMetadata(metadata: Metadata): Context {
  return w3c.extract(otelContext.active(), metadata, {
    keys: () => ['traceparent', 'tracestate'],
    get: (carrier, key) => carrier.get(key),
  });
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
