import { MongoClient, type Db } from 'mongodb';
import type { Logger } from '@trellis/platform/logging';

export interface MongoConnection {
  client: MongoClient;
  db: Db;
  /** Resolves when MongoDB answers a ping; used for readiness. */
  ping(): Promise<boolean>;
  close(): Promise<void>;
}

export interface MongoSettings {
  uri: string;
  /** The service's own database (one database per service). */
  database: string;
  appName: string;
  logger: Logger;
  serverSelectionTimeoutMs?: number;
}

/** Connects with majority writes and primary reads, the settings transactions and the outbox rely on. */
export async function connectMongo(settings: MongoSettings): Promise<MongoConnection> {
  const client = new MongoClient(settings.uri, {
    appName: settings.appName,
    retryWrites: true,
    writeConcern: { w: 'majority' },
    readPreference: 'primary',
    serverSelectionTimeoutMS: settings.serverSelectionTimeoutMs ?? 10_000,
  });
  slowPoolMaintenance(client);
  await client.connect();
  const db = client.db(settings.database);
  return {
    client,
    db,
    async ping() {
      try {
        await db.command({ ping: 1 });
        return true;
      } catch (err) {
        settings.logger.warn({ err }, 'mongodb ping failed');
        return false;
      }
    },
    close: () => client.close(),
  };
}

/**
 * How often each connection pool's background pass runs (the driver's default is 100 ms, ten
 * wake-ups a second per pool, forever). With the default minPoolSize 0 and maxIdleTimeMS 0 the pass
 * only closes connections a pool clear made stale, and a checkout skips those anyway; with
 * `minPoolSize` or `maxIdleTimeMS` set in the URI it refills or trims the pool 10 s late at most.
 * The driver has no public option for it (`minPoolSizeCheckFrequencyMS` is internal and refused in
 * the options), so it is set on the parsed options, which the pools copy on connect.
 */
export const POOL_MAINTENANCE_MS = 10_000;

function slowPoolMaintenance(client: MongoClient): void {
  (client.options as { minPoolSizeCheckFrequencyMS?: number }).minPoolSizeCheckFrequencyMS =
    POOL_MAINTENANCE_MS;
}
