// google.protobuf well-known types used by the contracts. In the generated interfaces
// Timestamp fields are `Date`, Struct fields plain JSON objects, Duration `{ seconds:
// bigint; nanos: number }` and Any `{ typeUrl: string; value: Buffer }`.
export * from '../gen/google/protobuf/any';
export * from '../gen/google/protobuf/duration';
export * from '../gen/google/protobuf/struct';
export * from '../gen/google/protobuf/timestamp';
