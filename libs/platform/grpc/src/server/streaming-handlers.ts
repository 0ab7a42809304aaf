import type { MethodDefinition as GrpcJsMethodDefinition, UntypedHandleCall } from '@grpc/grpc-js';
import type { CompatServiceDefinition, ServerMiddleware } from 'nice-grpc';
import {
  createBidiStreamingMethodHandler,
  createClientStreamingMethodHandler,
  createServerStreamingMethodHandler,
  normalizeServiceDefinition,
  type NiceMethodDefinition,
} from './nice-grpc-internals';

export type KitMethodDefinition = GrpcJsMethodDefinition<unknown, unknown> & {
  options: NiceMethodDefinition['options'];
};

/**
 * A ts-proto, grpc-js or nice-grpc service definition as grpc-js method definitions, as nice-grpc
 * converts them (ts-proto responses go through `fromPartial`, so handlers may return partial
 * messages). A copy into a pooled Buffer is cheaper than a Buffer view for small messages.
 */
export function toGrpcJsMethods(
  definition: CompatServiceDefinition,
): Record<string, KitMethodDefinition> {
  const normalized = normalizeServiceDefinition(definition);
  const methods: Record<string, KitMethodDefinition> = {};
  for (const [name, method] of Object.entries(normalized)) {
    methods[name] = {
      path: method.path,
      requestStream: method.requestStream,
      responseStream: method.responseStream,
      requestSerialize: (value: unknown) => Buffer.from(method.requestSerialize(value)),
      requestDeserialize: method.requestDeserialize,
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
  if (!method.requestStream)
    return createServerStreamingMethodHandler(definition, implementation, middleware);
  if (!method.responseStream)
    return createClientStreamingMethodHandler(definition, implementation, middleware);
  return createBidiStreamingMethodHandler(definition, implementation, middleware);
}
