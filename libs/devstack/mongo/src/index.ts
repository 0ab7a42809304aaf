export { startMongoDevServer, type MongoDevServer, type MongoDevServerOptions } from './server';
export type { FsyncPolicy } from './storage/journal';
