export { startMongoDevServer, type MongoDevServer, type MongoDevServerOptions } from './server';
export type { WireVersion } from './protocol/handshake';
export type { FsyncPolicy } from './storage/journal';
