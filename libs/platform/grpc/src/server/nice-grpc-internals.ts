/**
 * Functions nice-grpc and nice-grpc-error-details use themselves but mark `@internal` (so their
 * typings omit them): the kit registers its own grpc-js handlers for unary calls and still hands
 * streaming calls to nice-grpc's. Both packages are pinned to exact versions in package.json; the
 * kit's tests (health Watch, reflection through buf curl, error details) fail if these move.
 */
import type { UntypedHandleCall } from '@grpc/grpc-js';
import type { CompatServiceDefinition, ServerMiddleware } from 'nice-grpc';
import type { ErrorDetails } from 'nice-grpc-error-details';
import type { Any } from 'nice-grpc-error-details/lib/proto/google/protobuf/any';
import * as errorDetails from 'nice-grpc-error-details/lib/ErrorDetails';
import * as bidi from 'nice-grpc/lib/server/handleBidiStreamingCall';
import * as clientStreaming from 'nice-grpc/lib/server/handleClientStreamingCall';
import * as serverStreaming from 'nice-grpc/lib/server/handleServerStreamingCall';
import * as definitions from 'nice-grpc/lib/service-definitions';

/** nice-grpc's normalised method definition. */
export interface NiceMethodDefinition {
  path: string;
  requestStream: boolean;
  responseStream: boolean;
  requestSerialize(value: unknown): Uint8Array;
  requestDeserialize(bytes: Uint8Array): unknown;
  responseSerialize(value: unknown): Uint8Array;
  responseDeserialize(bytes: Uint8Array): unknown;
  options: { idempotencyLevel?: 'IDEMPOTENT' | 'NO_SIDE_EFFECTS' };
}

type HandlerFactory = (
  definition: NiceMethodDefinition,
  implementation: unknown,
  middleware: ServerMiddleware | undefined,
) => UntypedHandleCall;

function internal<T>(module: object, name: string): T {
  const value = (module as Record<string, unknown>)[name];
  if (typeof value !== 'function') throw new Error(`${name} is missing from its package`);
  return value as T;
}

export const normalizeServiceDefinition = internal<
  (definition: CompatServiceDefinition) => Record<string, NiceMethodDefinition>
>(definitions, 'normalizeServiceDefinition');

export const createServerStreamingMethodHandler = internal<HandlerFactory>(
  serverStreaming,
  'createServerStreamingMethodHandler',
);
export const createClientStreamingMethodHandler = internal<HandlerFactory>(
  clientStreaming,
  'createClientStreamingMethodHandler',
);
export const createBidiStreamingMethodHandler = internal<HandlerFactory>(
  bidi,
  'createBidiStreamingMethodHandler',
);

/** The `google.protobuf.Any` packing errorDetailsServerMiddleware uses. */
export const encodeErrorDetails = internal<(details: ErrorDetails[]) => Any[]>(
  errorDetails,
  'encodeErrorDetails',
);

/** The unpacking errorDetailsClientMiddleware uses (unknown types stay `Any`). */
export const decodeErrorDetails = internal<(details: Any[]) => ErrorDetails[]>(
  errorDetails,
  'decodeErrorDetails',
);
