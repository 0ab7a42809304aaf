// trellis.account.v1: AccountService (messages, nice-grpc definition, client and
// implementation types) and the events published to `account.events.v1`.
export * from '../gen/trellis/account/v1/account_service';
export * from '../gen/trellis/account/v1/events';
