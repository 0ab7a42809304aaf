export { connectMongo, type MongoConnection, type MongoSettings } from './connect-mongo';
export { withTransaction, isDuplicateKeyError } from './with-transaction';
export { Outbox, OUTBOX_COLLECTION, type OutboxDocument, type OutboxMessage } from './outbox';
export { Inbox, type InboxOutcome } from './inbox';
export { Lease } from './lease';
export { SessionOwners, type SessionOwnersOptions } from './session-owners';
