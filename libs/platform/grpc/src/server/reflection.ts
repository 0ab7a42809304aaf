import { create, fromBinary, toBinary } from '@bufbuild/protobuf';
import {
  FileDescriptorSetSchema,
  type FileDescriptorProto,
  type FileDescriptorSet,
} from '@bufbuild/protobuf/wkt';
import type { ServiceImplementation } from 'nice-grpc';
import { ServerReflection, ServerReflectionService } from 'nice-grpc-server-reflection';

/**
 * The reflection service under both names clients use: grpc.reflection.v1 (buf curl, grpcurl ≥1.9)
 * and grpc.reflection.v1alpha (older grpcurl and most other tools). The messages are identical.
 */
export const ServerReflectionV1AlphaService = Object.fromEntries(
  Object.entries(ServerReflectionService).map(([name, method]) => [
    name,
    { ...method, path: method.path.replace('grpc.reflection.v1.', 'grpc.reflection.v1alpha.') },
  ]),
) as typeof ServerReflectionService;

export { ServerReflectionService };

/** Full names of the reflection service's two versions, as `list` shows them. */
export const REFLECTION_SERVICE_NAMES = [
  'grpc.reflection.v1.ServerReflection',
  'grpc.reflection.v1alpha.ServerReflection',
] as const;

// Every error may carry google.rpc details (ErrorInfo, BadRequest, RetryInfo) in Any fields that
// no service message names, so clients resolve them by type URL: they are always described.
const ALWAYS_DESCRIBED_PACKAGES = new Set(['google.rpc']);

const qualified = (file: FileDescriptorProto, name: string) =>
  file.package ? `${file.package}.${name}` : name;

/** Full names of the services a FileDescriptorSet declares. */
export function servicesInDescriptorSet(descriptorSet: Uint8Array): Set<string> {
  const set = fromBinary(FileDescriptorSetSchema, descriptorSet);
  return new Set(set.file.flatMap((file) => file.service.map((s) => qualified(file, s.name))));
}

/**
 * The part of a FileDescriptorSet a server serving `services` may show: the files declaring them
 * (any other service declared there removed), the google.rpc error details, and every file those
 * import, transitively. Another server's services and their messages are not in it.
 */
export function descriptorSetFor(
  descriptorSet: Uint8Array,
  services: Iterable<string>,
): FileDescriptorSet {
  const wanted = new Set(services);
  const full = fromBinary(FileDescriptorSetSchema, descriptorSet);
  const byName = new Map(full.file.map((file) => [file.name, file]));
  const kept = new Map<string, FileDescriptorProto>();
  const keep = (file: FileDescriptorProto) => {
    if (kept.has(file.name)) return;
    kept.set(file.name, file);
    for (const dependency of file.dependency) {
      const imported = byName.get(dependency);
      if (imported) keep(imported);
    }
  };
  for (const file of full.file) {
    const served = file.service.filter((s) => wanted.has(qualified(file, s.name)));
    if (served.length > 0) keep({ ...file, service: served });
    else if (ALWAYS_DESCRIBED_PACKAGES.has(file.package)) keep(file);
  }
  // Dependencies before dependents, as in the input (and as protoc writes them).
  return create(FileDescriptorSetSchema, {
    file: full.file.flatMap((file) => kept.get(file.name) ?? []),
  });
}

export type ServerReflectionImplementation = ServiceImplementation<typeof ServerReflectionService>;

/**
 * Server reflection that tells the truth about one server: `list` shows the services registered
 * with `add` (those the descriptor set describes), and only their types resolve. Built again at the
 * first reflection call after a service is added.
 */
export function scopedServerReflection(descriptorSet: Uint8Array): {
  add(service: string): void;
  implementation: ServerReflectionImplementation;
} {
  const services: string[] = [];
  let current: ServerReflectionImplementation | undefined;
  const build = () => {
    const scoped = descriptorSetFor(descriptorSet, services);
    const described = new Set(
      scoped.file.flatMap((file) => file.service.map((s) => qualified(file, s.name))),
    );
    return ServerReflection(
      toBinary(FileDescriptorSetSchema, scoped),
      services.filter((name) => described.has(name)),
    );
  };
  return {
    add(service) {
      services.push(service);
      current = undefined;
    },
    implementation: {
      serverReflectionInfo(requests, context) {
        current ??= build();
        return current.serverReflectionInfo(requests, context);
      },
    },
  };
}
