import { ServerError, Status, type CallContext, type ServerMiddlewareCall } from 'nice-grpc';
import type { Logger } from '@trellis/platform/logging';

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

/** One structured line per call: method, status, duration, peer. Never metadata or bodies. */
export function loggingMiddleware(logger: Logger) {
  return async function* logCall<Request, Response>(
    call: ServerMiddlewareCall<Request, Response>,
    context: CallContext,
  ) {
    const started = process.hrtime.bigint();
    let code = Status.OK;
    let message: string | undefined;
    try {
      return yield* call.next(call.request, context);
    } catch (err) {
      code = err instanceof ServerError ? err.code : Status.UNKNOWN;
      message = err instanceof ServerError ? err.details : undefined;
      throw err;
    } finally {
      const fields = {
        'rpc.system': 'grpc',
        'rpc.method': call.method.path,
        'grpc.code': statusName(code),
        duration_ms: Number(process.hrtime.bigint() - started) / 1e6,
        peer: context.peer,
        ...(message === undefined ? {} : { 'grpc.message': message }),
      };
      if (SERVER_FAULTS.has(code)) logger.error(fields, 'rpc failed');
      else if (QUIET_PREFIXES.some((p) => call.method.path.startsWith(p)))
        logger.debug(fields, 'rpc');
      else if (code === Status.OK) logger.info(fields, 'rpc');
      else logger.warn(fields, 'rpc rejected');
    }
  };
}
