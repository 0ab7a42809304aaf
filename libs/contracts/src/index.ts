// @trellis/contracts: the code generated from proto/ by `nx run contracts:generate`
// (ts-proto into ./gen, git-ignored), grouped by protobuf package, plus the descriptor
// set for server reflection and small helpers for events and error reasons.
//
//   import { accountV1 } from '@trellis/contracts';
//   const client = createClient(accountV1.AccountServiceDefinition, channel);
//
// Deep imports of one generated file also work: '@trellis/contracts/trellis/job/v1/job_service'.
export * as commonV1 from './packages/common-v1';
export * as accountV1 from './packages/account-v1';
export * as jobV1 from './packages/job-v1';
export * as notificationV1 from './packages/notification-v1';
export * as healthV1 from './packages/health-v1';
export * as googleProtobuf from './packages/google-protobuf';

export { descriptorSetPath, loadDescriptorSet, resolveDescriptorSetPath } from './descriptors';
export { ERROR_DOMAIN, errorReasonString, parseErrorReason } from './errors';
export { requestLimits } from './request-limits';
export {
  type DecodedEvent,
  type EventMetadata,
  type EventPayload,
  type EventType,
  type MessageCodec,
  TYPE_URL_PREFIX,
  UnknownEventTypeError,
  decodeEventEnvelope,
  encodeEventEnvelope,
  eventTypes,
  isEventType,
  packEvent,
  unpackEvent,
} from './events';

/** Kafka topic names (docs/architecture.md "Events"). */
export const topics = {
  accountEvents: 'account.events.v1',
  jobEvents: 'job.events.v1',
  notificationEvents: 'notification.events.v1',
  email: 'notification.email.v1',
  emailRetry: 'notification.email.retry.v1',
  emailDlq: 'notification.email.dlq.v1',
} as const;

/** Fully qualified gRPC service names. */
export const serviceNames = {
  account: 'trellis.account.v1.AccountService',
  job: 'trellis.job.v1.JobService',
  notification: 'trellis.notification.v1.NotificationService',
  health: 'grpc.health.v1.Health',
  reflection: 'grpc.reflection.v1.ServerReflection',
  reflectionV1alpha: 'grpc.reflection.v1alpha.ServerReflection',
} as const;
