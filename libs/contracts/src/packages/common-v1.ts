// trellis.common.v1: Money, ErrorReason, EventEnvelope.
export * from '../gen/trellis/common/v1/money';
export * from '../gen/trellis/common/v1/errors';
export * from '../gen/trellis/common/v1/event';
