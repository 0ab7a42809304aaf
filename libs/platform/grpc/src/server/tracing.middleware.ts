import {
  context as otelContext,
  SpanKind,
  SpanStatusCode,
  trace,
  type Context,
} from '@opentelemetry/api';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import { ServerError, Status, type CallContext, type ServerMiddlewareCall } from 'nice-grpc';
import type { Metadata } from 'nice-grpc-common';

const tracer = trace.getTracer('@trellis/platform/grpc');
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

/**
 * A SERVER span per unary call, child of the caller's `traceparent`, active while the handler runs
 * (so logs, MongoDB spans and outbox events carry its trace). Done here rather than by the grpc
 * auto-instrumentation so it also works where modules are not patched (bundles, jest).
 */
export async function* tracingMiddleware<Request, Response>(
  call: ServerMiddlewareCall<Request, Response>,
  context: CallContext,
) {
  if (call.responseStream || call.requestStream) return yield* call.next(call.request, context);
  const parent = contextFromMetadata(context.metadata);
  const attributes = rpcAttributes(call.method.path);
  const span = tracer.startSpan(
    `${attributes['rpc.service']}/${attributes['rpc.method']}`,
    { kind: SpanKind.SERVER, attributes },
    parent,
  );
  let code = Status.OK;
  try {
    return await otelContext.with(trace.setSpan(parent, span), async () => {
      const inner = call.next(call.request, context);
      let step = await inner.next();
      while (!step.done) step = await inner.next();
      return step.value;
    });
  } catch (err) {
    code = err instanceof ServerError ? err.code : Status.UNKNOWN;
    throw err;
  } finally {
    span.setAttribute('rpc.grpc.status_code', code);
    if (code !== Status.OK) span.setStatus({ code: SpanStatusCode.ERROR, message: Status[code] });
    span.end();
  }
}
