export { connectMongo, type MongoConnection, type MongoSettings } from './connect-mongo';
export { withTransaction, isDuplicateKeyError } from './with-transaction';
export { CLIENT_BULK_WRITE_WIRE_VERSION, supportsClientBulkWrite } from './client-bulk-write';
export {
  eventsOf,
  Outbox,
  OUTBOX_COLLECTION,
  type OutboxDocument,
  type OutboxEvent,
  type OutboxGroupDocument,
  type OutboxMessage,
  type StoredOutboxDocument,
} from './outbox';
export { Inbox, type InboxOutcome } from './inbox';
export { Lease } from './lease';
export { SessionOwners, type SessionOwnersOptions } from './session-owners';
