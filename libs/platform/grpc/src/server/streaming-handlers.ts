import type { MethodDefinition as GrpcJsMethodDefinition, UntypedHandleCall } from '@grpc/grpc-js';
import type { CompatServiceDefinition, ServerMiddleware } from 'nice-grpc';
import type { RichServerError } from 'nice-grpc-error-details';
import { ValidationError } from '@trellis/platform/errors';
import { toServerError } from './error-mapper.middleware';
import {
  createBidiStreamingMethodHandler,
  createClientStreamingMethodHandler,
  createServerStreamingMethodHandler,
  normalizeServiceDefinition,
  type NiceMethodDefinition,
} from './nice-grpc-internals';
import { guardedDeserializer, RejectedRequest, type RequestGuard } from './request-bounds';

export type KitMethodDefinition = GrpcJsMethodDefinition<unknown, unknown> & {
  options: NiceMethodDefinition['options'];
};

/**
 * A ts-proto, grpc-js or nice-grpc service definition as grpc-js method definitions, as nice-grpc
 * converts them (ts-proto responses go through `fromPartial`, so handlers may return partial
 * messages). A copy into a pooled Buffer is cheaper than a Buffer view for small messages.
 * Requests are deserialized behind their guard (request-bounds.ts): what is out of bounds or does
 * not decode arrives as a `RejectedRequest` rather than an exception grpc-js would answer INTERNAL.
 */
export function toGrpcJsMethods(
  definition: CompatServiceDefinition,
  guards: ReadonlyMap<string, RequestGuard> = new Map(),
): Record<string, KitMethodDefinition> {
  const normalized = normalizeServiceDefinition(definition);
  const methods: Record<string, KitMethodDefinition> = {};
  for (const [name, method] of Object.entries(normalized)) {
    methods[name] = {
      path: method.path,
      requestStream: method.requestStream,
      responseStream: method.responseStream,
      requestSerialize: (value: unknown) => Buffer.from(method.requestSerialize(value)),
      requestDeserialize: guardedDeserializer(method.requestDeserialize, guards.get(method.path)),
      responseSerialize: (value: unknown) => Buffer.from(method.responseSerialize(value)),
      responseDeserialize: method.responseDeserialize,
      options: method.options,
    };
  }
  return methods;
}

/** A streaming method through nice-grpc's handler with `middleware` around it. */
export function streamingMethodHandler(
  method: KitMethodDefinition,
  implementation: (...args: never[]) => unknown,
  middleware: ServerMiddleware,
): UntypedHandleCall {
  // nice-grpc's handlers read only path, stream flags and options of the definition.
  const definition = method as unknown as NiceMethodDefinition;
  const impl = implementation as (request: unknown, context: unknown) => unknown;
  if (!method.requestStream) {
    const guarded = async function* (request: unknown, context: unknown) {
      if (request instanceof RejectedRequest) throw rejectionError(request);
      yield* impl(request, context) as AsyncIterable<unknown>;
    };
    return createServerStreamingMethodHandler(definition, guarded, middleware);
  }
  if (!method.responseStream) {
    const guarded = (requests: AsyncIterable<unknown>, context: unknown) =>
      impl(rejectingRejected(requests), context);
    return createClientStreamingMethodHandler(definition, guarded, middleware);
  }
  const guarded = async function* (requests: AsyncIterable<unknown>, context: unknown) {
    yield* impl(rejectingRejected(requests), context) as AsyncIterable<unknown>;
  };
  return createBidiStreamingMethodHandler(definition, guarded, middleware);
}

/** A request stream that ends the call with INVALID_ARGUMENT at the first rejected message. */
async function* rejectingRejected(requests: AsyncIterable<unknown>): AsyncIterable<unknown> {
  for await (const request of requests) {
    if (request instanceof RejectedRequest) throw rejectionError(request);
    yield request;
  }
}

/** The INVALID_ARGUMENT status (google.rpc.BadRequest naming the field) of a rejected request. */
export function rejectionError(rejected: RejectedRequest): RichServerError {
  return toServerError(new ValidationError([rejected.violation]));
}
