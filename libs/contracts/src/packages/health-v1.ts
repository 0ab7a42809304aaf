// grpc.health.v1: the standard gRPC health service (vendored proto).
export * from '../gen/grpc/health/v1/health';
