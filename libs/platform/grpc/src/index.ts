export {
  createGrpcServer,
  LIVENESS_SERVICE,
  READINESS_SERVICE,
  type GrpcServer,
  type GrpcServerSettings,
} from './server/create-grpc-server';
export {
  toServerError,
  rpcStatusOf,
  type RpcStatus,
  errorMapperMiddleware,
  ERROR_DOMAIN,
} from './server/error-mapper.middleware';
export { logAsIdle, statusName } from './server/observability.middleware';
export {
  requestGuards,
  defaultLimit,
  DEFAULT_FIELD_LIMITS,
  WELL_KNOWN_LIMITS,
  MAX_REQUEST_DEPTH,
  INPUT_EXCERPT_CHARS,
  type FieldLimit,
  type RequestLimits,
  type RequestGuard,
} from './server/request-bounds';
export { MAX_FIELD_VIOLATIONS, MAX_STATUS_TEXT } from './server/error-mapper.middleware';
export { servicesInDescriptorSet } from './server/reflection';
export {
  createGrpcClient,
  serviceConfig,
  type GrpcClientHandle,
  type GrpcClientSettings,
} from './client/create-grpc-client';
export { rpcStatusError } from './client/rpc-status-error';
export { Status, ServerError, ClientError, type CallContext } from 'nice-grpc';
export {
  serverTlsCredentials,
  channelTlsCredentials,
  insecureChannelCredentials,
  type TlsFiles,
} from './security/tls-credentials';
export {
  ServiceTokenSigner,
  ServiceTokenVerifier,
  InvalidTokenError,
  TOKEN_ISSUER,
  MAX_TOKEN_TTL_SECONDS,
} from './security/service-token';
export { isAllowed, type AuthorizationPolicy } from './security/authorization-policy';
export { authMiddleware, callerOf, type AuthSettings } from './security/auth.middleware';
export { CALLER_HEADER } from './security/peer-identity.interceptor';
export { callerIdentityOf, peerHost } from './security/caller-identity';
export { contextFromMetadata, injectIntoMetadata } from './server/trace-context';
