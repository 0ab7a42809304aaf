import { randomUUID } from 'node:crypto';
import { ServerError, Status, type CallContext, type ServerMiddlewareCall } from 'nice-grpc';
import { BadRequest, ErrorInfo, RetryInfo, RichServerError } from 'nice-grpc-error-details';
import { Status as RpcStatusMessage } from 'nice-grpc-error-details/lib/proto/google/rpc/status';
import { DomainError } from '@trellis/platform/errors';
import type { Logger } from '@trellis/platform/logging';
import { encodeErrorDetails } from './nice-grpc-internals';
import { statusName } from './observability.middleware';
import { excerpt, INPUT_EXCERPT_CHARS } from './request-bounds';

/**
 * The longest status message or field-violation text a caller receives (and the access log
 * writes). Messages may quote client input; this cut, made here for every handler, keeps a huge
 * id from becoming a huge trailer (over the client's metadata limit) and a huge log line.
 */
export const MAX_STATUS_TEXT = 256;

/**
 * The most field violations a caller receives; the status message says how many there were. One
 * violation per element of a 1,000-element list (malformed ids, addresses) made a
 * `grpc-status-details-bin` trailer over 64 KiB, which HTTP/2 would not send: the call never
 * answered and every other call on that connection waited with it.
 */
export const MAX_FIELD_VIOLATIONS = 20;

/** google.rpc.ErrorInfo.domain for every Trellis error. */
export const ERROR_DOMAIN = 'trellis.dev';

const STATUS_BY_KIND: Record<DomainError['kind'], Status> = {
  validation: Status.INVALID_ARGUMENT,
  not_found: Status.NOT_FOUND,
  already_exists: Status.ALREADY_EXISTS,
  failed_precondition: Status.FAILED_PRECONDITION,
  aborted: Status.ABORTED,
  rate_limited: Status.RESOURCE_EXHAUSTED,
  unavailable: Status.UNAVAILABLE,
  unauthenticated: Status.UNAUTHENTICATED,
  permission_denied: Status.PERMISSION_DENIED,
};

// Driver errors that mean "a dependency is down", recognised by name so the kit imports no driver.
const DEPENDENCY_DOWN = new Set([
  'MongoServerSelectionError',
  'MongoNetworkError',
  'MongoNetworkTimeoutError',
  'MongoTopologyClosedError',
  'MongoNotConnectedError',
  'KafkaJSConnectionError',
  'KafkaJSBrokerNotFound',
  'KafkaJSNumberOfRetriesExceeded',
]);

/** Converts a domain error into the status and google.rpc details the caller receives. */
export function toServerError(err: DomainError): RichServerError {
  const status = STATUS_BY_KIND[err.kind];
  const metadata: Record<string, string> = { code: err.code };
  for (const [key, value] of Object.entries(err.metadata))
    metadata[excerpt(key, INPUT_EXCERPT_CHARS)] = excerpt(value, INPUT_EXCERPT_CHARS);
  const errorInfo = ErrorInfo.fromPartial({ reason: err.reason, domain: ERROR_DOMAIN, metadata });
  let message = excerpt(err.message, MAX_STATUS_TEXT);
  if (err.kind === 'validation' && 'fieldViolations' in err) {
    const violations = (
      err as DomainError & { fieldViolations: Array<{ field: string; description: string }> }
    ).fieldViolations;
    if (violations.length > MAX_FIELD_VIOLATIONS) {
      const first = violations.slice(0, MAX_FIELD_VIOLATIONS);
      const head = first.map((v) => `${v.field}: ${v.description}`).join('; ');
      const more = ` (${violations.length} violations, the first ${MAX_FIELD_VIOLATIONS} listed)`;
      message = `${excerpt(head, MAX_STATUS_TEXT - more.length)}${more}`;
    }
    return new RichServerError(status, message, [
      BadRequest.fromPartial({
        fieldViolations: violations.slice(0, MAX_FIELD_VIOLATIONS).map((v) => ({
          field: excerpt(v.field, MAX_STATUS_TEXT),
          description: excerpt(v.description, MAX_STATUS_TEXT),
        })),
      }),
      errorInfo,
    ]);
  }
  if (err.kind === 'rate_limited' && 'retryAfterMs' in err) {
    const ms = Number((err as DomainError & { retryAfterMs: number }).retryAfterMs);
    const retryInfo = RetryInfo.fromPartial({
      retryDelay: { seconds: Math.floor(ms / 1000), nanos: (ms % 1000) * 1_000_000 },
    });
    return new RichServerError(status, message, [retryInfo, errorInfo]);
  }
  return new RichServerError(status, message, [errorInfo]);
}

/**
 * The one place errors become gRPC statuses: domain errors get their canonical code and rich
 * details; a dependency that is down gives UNAVAILABLE; anything else is INTERNAL with a generic
 * message and an error id, while the stack goes to the log under that id. `cancelled` says the
 * call was cancelled or its deadline passed.
 */
export function mapError(
  err: unknown,
  logger: Logger,
  methodPath: string,
  cancelled: boolean,
): ServerError {
  if (err instanceof ServerError) {
    if (err.details.length <= MAX_STATUS_TEXT) return err;
    const details = excerpt(err.details, MAX_STATUS_TEXT);
    return err instanceof RichServerError
      ? new RichServerError(err.code, details, err.extra)
      : new ServerError(err.code, details);
  }
  if (err instanceof DomainError) return toServerError(err);
  if ((err as Error | undefined)?.name === 'AbortError' || cancelled) {
    return new ServerError(Status.CANCELLED, 'the call was cancelled or its deadline passed');
  }
  const name = (err as Error | undefined)?.name ?? '';
  if (DEPENDENCY_DOWN.has(name)) {
    logger.warn({ err, 'rpc.method': methodPath }, 'dependency unavailable');
    return new ServerError(Status.UNAVAILABLE, 'a dependency is unavailable; retry later');
  }
  const errorId = randomUUID();
  logger.error({ err, error_id: errorId, 'rpc.method': methodPath }, 'unexpected error in handler');
  return new ServerError(Status.INTERNAL, `internal error (error id ${errorId})`);
}

/** The `grpc-status-details-bin` trailer (google.rpc.Status) of a rich error, as bytes. */
export function statusDetailsOf(err: RichServerError): Uint8Array {
  return RpcStatusMessage.encode(
    RpcStatusMessage.fromPartial({
      code: err.code,
      message: err.details,
      details: encodeErrorDetails(err.extra),
    }),
  ).finish();
}

/** A google.rpc.Status: what a batch RPC reports for each of its entries. */
export interface RpcStatus {
  code: number;
  message: string;
  details: Array<{ typeUrl: string; value: Buffer }>;
}

/**
 * The google.rpc.Status a caller would have received had `err` ended its call (code, message and
 * details as `mapError` makes them, unexpected errors logged the same way); OK for no error.
 * Batch RPCs, whose entries succeed or fail on their own, put one in each entry's result. A failed
 * entry also gets the warn line a failed call would, with `entry` (e.g. its job id) added: the
 * call's own access line says OK.
 */
export function rpcStatusOf(
  err: unknown,
  logger: Logger,
  methodPath: string,
  entry: Record<string, string | number> = {},
): RpcStatus {
  if (err === undefined) return { code: Status.OK, message: '', details: [] };
  const mapped = mapError(err, logger, methodPath, false);
  logger.warn(
    {
      'rpc.system': 'grpc',
      'rpc.method': methodPath,
      ...entry,
      'grpc.code': statusName(mapped.code),
      'grpc.message': mapped.details,
    },
    'rpc entry rejected',
  );
  return {
    code: mapped.code,
    message: mapped.details,
    details:
      mapped instanceof RichServerError
        ? encodeErrorDetails(mapped.extra).map((any) => ({
            typeUrl: any.typeUrl,
            value: Buffer.from(any.value),
          }))
        : [],
  };
}

/** `mapError` as a nice-grpc middleware (the streaming path; unary calls use `mapError` directly). */
export function errorMapperMiddleware(logger: Logger) {
  return async function* errorMapper<Request, Response>(
    call: ServerMiddlewareCall<Request, Response>,
    context: CallContext,
  ) {
    try {
      return yield* call.next(call.request, context);
    } catch (err) {
      throw mapError(err, logger, call.method.path, context.signal.aborted);
    }
  };
}
