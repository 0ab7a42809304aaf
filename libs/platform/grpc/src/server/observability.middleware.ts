import {
  context as otelContext,
  SpanKind,
  SpanStatusCode,
  trace,
  type Span,
} from '@opentelemetry/api';
import { ServerError, Status, type CallContext, type ServerMiddlewareCall } from 'nice-grpc';
import { Counter, Histogram, type Registry } from 'prom-client';
import type { Logger } from '@trellis/platform/logging';
import { contextFromMetadata, rpcAttributes } from './trace-context';

const tracer = trace.getTracer('@trellis/platform/grpc');
const QUIET_PREFIXES = ['/grpc.health.v1.', '/grpc.reflection.'];
const SERVER_FAULTS = new Set([
  Status.INTERNAL,
  Status.UNKNOWN,
  Status.DATA_LOSS,
  Status.UNIMPLEMENTED,
]);

export function statusName(code: Status): string {
  return Status[code] ?? String(code);
}

/**
 * Tracing, the access log and RED metrics of every call, in one middleware (each nice-grpc layer
 * is an async generator on the hot path, so they share one):
 * - a SERVER span per unary call, child of the caller's `traceparent`, active while the handler
 *   runs so logs, MongoDB spans and outbox events carry its trace (done here rather than by
 *   auto-instrumentation, so it also works in bundles and tests);
 * - one structured line per call: method, status, duration, peer — never metadata or bodies;
 * - `rpc_server_duration_seconds` and `rpc_server_requests_total` by service, method and code
 *   (the OpenTelemetry `rpc.server.duration` convention in Prometheus form).
 */
export function observabilityMiddleware(logger: Logger, registry?: Registry) {
  const labelNames = ['rpc_service', 'rpc_method', 'rpc_grpc_status_code'] as const;
  const duration = registry
    ? new Histogram({
        name: 'rpc_server_duration_seconds',
        help: 'Duration of inbound gRPC calls',
        labelNames,
        buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
        registers: [registry],
      })
    : undefined;
  const requests = registry
    ? new Counter({
        name: 'rpc_server_requests_total',
        help: 'Inbound gRPC calls by outcome',
        labelNames,
        registers: [registry],
      })
    : undefined;

  function finish(
    path: string,
    started: bigint,
    code: Status,
    message: string | undefined,
    peer: string,
    span?: Span,
  ) {
    const seconds = Number(process.hrtime.bigint() - started) / 1e9;
    const attributes = rpcAttributes(path);
    if (span) {
      span.setAttribute('rpc.grpc.status_code', code);
      if (code !== Status.OK)
        span.setStatus({ code: SpanStatusCode.ERROR, message: statusName(code) });
      span.end();
    }
    if (duration && requests) {
      const labels = {
        rpc_service: attributes['rpc.service'],
        rpc_method: attributes['rpc.method'],
        rpc_grpc_status_code: statusName(code),
      };
      duration.observe(labels, seconds);
      requests.inc(labels);
    }
    const fields = {
      'rpc.system': 'grpc',
      'rpc.method': path,
      'grpc.code': statusName(code),
      duration_ms: seconds * 1000,
      peer,
      ...(message === undefined ? {} : { 'grpc.message': message }),
    };
    if (SERVER_FAULTS.has(code)) logger.error(fields, 'rpc failed');
    else if (QUIET_PREFIXES.some((p) => path.startsWith(p))) logger.debug(fields, 'rpc');
    else if (code === Status.OK) logger.info(fields, 'rpc');
    else logger.warn(fields, 'rpc rejected');
  }

  return async function* observe<Request, Response>(
    call: ServerMiddlewareCall<Request, Response>,
    context: CallContext,
  ) {
    const started = process.hrtime.bigint();
    const path = call.method.path;
    const failure = (err: unknown) => {
      const code = err instanceof ServerError ? err.code : Status.UNKNOWN;
      return { code, message: err instanceof ServerError ? err.details : undefined };
    };
    if (call.responseStream || call.requestStream) {
      try {
        const result = yield* call.next(call.request, context);
        finish(path, started, Status.OK, undefined, context.peer);
        return result;
      } catch (err) {
        const { code, message } = failure(err);
        finish(path, started, code, message, context.peer);
        throw err;
      }
    }
    const parent = contextFromMetadata(context.metadata);
    const attributes = rpcAttributes(path);
    const span = tracer.startSpan(
      `${attributes['rpc.service']}/${attributes['rpc.method']}`,
      { kind: SpanKind.SERVER, attributes },
      parent,
    );
    try {
      const result = await otelContext.with(trace.setSpan(parent, span), async () => {
        const inner = call.next(call.request, context);
        let step = await inner.next();
        while (!step.done) step = await inner.next();
        return step.value;
      });
      finish(path, started, Status.OK, undefined, context.peer, span);
      return result;
    } catch (err) {
      const { code, message } = failure(err);
      finish(path, started, code, message, context.peer, span);
      throw err;
    }
  };
}
