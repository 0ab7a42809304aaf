import { ServerError, Status, type CallContext, type ServerMiddlewareCall } from 'nice-grpc';
import { Counter, Histogram, type Registry } from 'prom-client';
import { statusName } from './logging.middleware';

/**
 * RED metrics per RPC, named after the OpenTelemetry RPC conventions (`rpc.server.duration`) in
 * Prometheus form, labelled by service, method and status code.
 */
export function metricsMiddleware(registry: Registry) {
  const labelNames = ['rpc_service', 'rpc_method', 'rpc_grpc_status_code'] as const;
  const duration = new Histogram({
    name: 'rpc_server_duration_seconds',
    help: 'Duration of inbound gRPC calls',
    labelNames,
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [registry],
  });
  const requests = new Counter({
    name: 'rpc_server_requests_total',
    help: 'Inbound gRPC calls by outcome',
    labelNames,
    registers: [registry],
  });
  return async function* measureCall<Request, Response>(
    call: ServerMiddlewareCall<Request, Response>,
    context: CallContext,
  ) {
    const stopTimer = duration.startTimer();
    let code = Status.OK;
    try {
      return yield* call.next(call.request, context);
    } catch (err) {
      code = err instanceof ServerError ? err.code : Status.UNKNOWN;
      throw err;
    } finally {
      const [, service = '', method = ''] = call.method.path.split('/');
      const labels = {
        rpc_service: service,
        rpc_method: method,
        rpc_grpc_status_code: statusName(code),
      };
      stopTimer(labels);
      requests.inc(labels);
    }
  };
}
