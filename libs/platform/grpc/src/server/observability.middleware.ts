import {
  context as otelContext,
  SpanKind,
  SpanStatusCode,
  trace,
  type Context,
  type Span,
} from '@opentelemetry/api';
import { ServerError, Status, type CallContext, type ServerMiddlewareCall } from 'nice-grpc';
import { Counter, Histogram, type Registry } from 'prom-client';
import type { Logger } from '@trellis/platform/logging';
import { callerIdentityOf } from '../security/caller-identity';
import { contextFromMetadata, rpcAttributes, tracingObservable } from './trace-context';

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

/** Calls whose handler said they found nothing to do (see `logAsIdle`). */
const idleCalls = new WeakSet<object>();

/**
 * Marks a call that ended without doing anything, such as a long-poll that waited out its deadline
 * with no work: its successful access line goes to debug like a fast query's, so an idle worker's
 * polls do not fill the log with lines nobody caused. Metrics and traces count it as usual.
 */
export function logAsIdle(context: object): void {
  idleCalls.add(context);
}

type MetricLabels = Record<'rpc_service' | 'rpc_method' | 'rpc_grpc_status_code', string>;

/** What one method's calls share, computed once per method rather than per call. */
export interface MethodObservation {
  path: string;
  spanName: string;
  attributes: ReturnType<typeof rpcAttributes>;
  /** Health and reflection log at debug. */
  quiet: boolean;
  /**
   * Declared `idempotency_level = NO_SIDE_EFFECTS` in its proto (Get*, List*): its successful calls
   * log at debug unless slower than the slow-query threshold. At read rates a line per call would
   * be most of the log volume, while RED metrics and traces already count and time every call.
   */
  query: boolean;
  /** Metric labels by status code, built on first use. */
  labels: Array<MetricLabels | undefined>;
}

/**
 * Tracing, the access log and RED metrics of every call:
 * - a SERVER span per unary call, child of the caller's `traceparent`, active while the handler
 *   runs so logs, MongoDB spans and outbox events carry its trace (done here rather than by
 *   auto-instrumentation, so it also works in bundles and tests); skipped when nothing could
 *   observe it (no tracer provider and no context manager, i.e. tracing disabled);
 * - one structured line per call: method, status, duration, peer, caller (the identity from its
 *   credentials, else its address) — never metadata or bodies — at
 *   info, warn or error; at debug for health, reflection and fast successful query calls;
 * - `rpc_server_duration_seconds` and `rpc_server_requests_total` by service, method and code
 *   (the OpenTelemetry `rpc.server.duration` convention in Prometheus form).
 */
export type RpcObservability = ReturnType<typeof createRpcObservability>;

/** What the proto says about a method (ts-proto and nice-grpc definitions carry it as `options`). */
export interface MethodOptions {
  idempotencyLevel?: 'IDEMPOTENT' | 'NO_SIDE_EFFECTS';
}

export interface RpcObservabilitySettings {
  /** Successful query calls at least this slow log at info (default 100 ms, MongoDB's slowms). */
  slowQueryMs?: number;
}

export function createRpcObservability(
  logger: Logger,
  registry?: Registry,
  settings: RpcObservabilitySettings = {},
) {
  const slowQueryMs = settings.slowQueryMs ?? 100;
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
  const methods = new Map<string, MethodObservation>();

  function method(path: string, options?: MethodOptions): MethodObservation {
    let found = methods.get(path);
    if (!found) {
      const attributes = rpcAttributes(path);
      found = {
        path,
        spanName: `${attributes['rpc.service']}/${attributes['rpc.method']}`,
        attributes,
        quiet: QUIET_PREFIXES.some((p) => path.startsWith(p)),
        query: options?.idempotencyLevel === 'NO_SIDE_EFFECTS',
        labels: [],
      };
      methods.set(path, found);
    }
    return found;
  }

  return {
    method,

    /** A SERVER span for the call and the context to run its handler in; none when unobservable. */
    startSpan<Carrier>(
      observed: MethodObservation,
      parentFrom: (carrier: Carrier) => Context,
      carrier: Carrier,
    ): { span: Span; context: Context } | undefined {
      if (!tracingObservable()) return undefined;
      const parent = parentFrom(carrier);
      const span = tracer.startSpan(
        observed.spanName,
        { kind: SpanKind.SERVER, attributes: observed.attributes },
        parent,
      );
      return { span, context: trace.setSpan(parent, span) };
    },

    /** Ends the span, counts the call and writes its access log line. */
    finish(
      observed: MethodObservation,
      startedMs: number,
      code: Status,
      message: string | undefined,
      /** Read only when the line is written; `identity` is who called (caller-identity.ts). */
      call: { readonly peer: string; readonly identity?: string },
      span?: Span,
    ): void {
      const ms = performance.now() - startedMs;
      if (span) {
        span.setAttribute('rpc.grpc.status_code', code);
        if (code !== Status.OK)
          span.setStatus({ code: SpanStatusCode.ERROR, message: statusName(code) });
        span.end();
      }
      if (duration && requests) {
        const labels = (observed.labels[code] ??= {
          rpc_service: observed.attributes['rpc.service'],
          rpc_method: observed.attributes['rpc.method'],
          rpc_grpc_status_code: statusName(code),
        });
        duration.observe(labels, ms / 1000);
        requests.inc(labels);
      }
      const level = SERVER_FAULTS.has(code)
        ? 'error'
        : observed.quiet
          ? 'debug'
          : code !== Status.OK
            ? 'warn'
            : (observed.query && ms < slowQueryMs) || idleCalls.has(call)
              ? 'debug'
              : 'info';
      // The line's object is built only when the level is on (health checks log at debug).
      if (!logger.isLevelEnabled(level)) return;
      const fields = {
        'rpc.system': 'grpc',
        'rpc.method': observed.path,
        'grpc.code': statusName(code),
        duration_ms: ms,
        peer: call.peer,
        caller: call.identity,
        ...(message === undefined ? {} : { 'grpc.message': message }),
      };
      logger[level](
        fields,
        level === 'error' ? 'rpc failed' : level === 'warn' ? 'rpc rejected' : 'rpc',
      );
    },
  };
}

/**
 * The observability of calls that go through nice-grpc's handlers (streaming methods) as a
 * middleware; unary calls use `RpcObservability` directly.
 */
export function observabilityMiddlewareFor(observability: RpcObservability) {
  const failure = (err: unknown) => ({
    code: err instanceof ServerError ? err.code : Status.UNKNOWN,
    message: err instanceof ServerError ? err.details : undefined,
  });

  return async function* observe<Request, Response>(
    call: ServerMiddlewareCall<Request, Response>,
    context: CallContext,
  ) {
    const started = performance.now();
    const observed = observability.method(call.method.path, call.method.options);
    const caller = {
      get peer() {
        return context.peer;
      },
      get identity() {
        return callerIdentityOf(context);
      },
    };
    if (call.responseStream || call.requestStream) {
      try {
        const result = yield* call.next(call.request, context);
        observability.finish(observed, started, Status.OK, undefined, caller);
        return result;
      } catch (err) {
        const { code, message } = failure(err);
        observability.finish(observed, started, code, message, caller);
        throw err;
      }
    }
    const traced = observability.startSpan(observed, contextFromMetadata, context.metadata);
    const runInner = async () => {
      const inner = call.next(call.request, context);
      let step = await inner.next();
      while (!step.done) step = await inner.next();
      return step.value;
    };
    try {
      const result = traced ? await otelContext.with(traced.context, runInner) : await runInner();
      observability.finish(observed, started, Status.OK, undefined, caller, traced?.span);
      return result;
    } catch (err) {
      const { code, message } = failure(err);
      observability.finish(observed, started, code, message, caller, traced?.span);
      throw err;
    }
  };
}
