import { fromBinary } from '@bufbuild/protobuf';
import { FileDescriptorSetSchema } from '@bufbuild/protobuf/wkt';
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

export { ServerReflection, ServerReflectionService };

/** Full names of the services a FileDescriptorSet declares. */
export function servicesInDescriptorSet(descriptorSet: Uint8Array): Set<string> {
  const set = fromBinary(FileDescriptorSetSchema, descriptorSet);
  const names = new Set<string>();
  for (const file of set.file) {
    for (const service of file.service) {
      names.add(file.package ? `${file.package}.${service.name}` : service.name);
    }
  }
  return names;
}
