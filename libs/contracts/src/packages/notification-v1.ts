// trellis.notification.v1: NotificationService (messages, nice-grpc definition, client
// and implementation types) and the delivery work items and outcome events on Kafka.
export * from '../gen/trellis/notification/v1/notification_service';
export * from '../gen/trellis/notification/v1/events';
