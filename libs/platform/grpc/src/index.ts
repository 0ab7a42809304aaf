export {
  createGrpcServer,
  type GrpcServer,
  type GrpcServerSettings,
} from './server/create-grpc-server';
export {
  toServerError,
  errorMapperMiddleware,
  ERROR_DOMAIN,
} from './server/error-mapper.middleware';
export { loggingMiddleware, statusName } from './server/logging.middleware';
export { metricsMiddleware } from './server/metrics.middleware';
export { servicesInDescriptorSet } from './server/reflection';
export {
  createGrpcClient,
  serviceConfig,
  type GrpcClientHandle,
  type GrpcClientSettings,
} from './client/create-grpc-client';
export { Status, ServerError, ClientError, type CallContext } from 'nice-grpc';
