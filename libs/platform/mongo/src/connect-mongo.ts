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
