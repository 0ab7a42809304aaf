import { type ClientSession, type MongoClient, MongoClientBulkWriteError } from 'mongodb';
import { SessionOwners } from './session-owners';

/**
 * Runs `work` in one multi-document transaction (snapshot reads, majority commit). The driver's
 * `withTransaction` reruns `work` on TransientTransactionError (e.g. a WriteConflict with a
 * concurrent transaction) and retries the commit on UnknownTransactionCommitResult, so `work`
 * must be safe to rerun: it does all its reads and writes through `session`. With a
 * `SessionOwners` started for `client`, the session is recorded first, so that a restarted
 * instance can kill it if this process dies with the transaction open.
 */
export async function withTransaction<T>(
  client: MongoClient,
  work: (session: ClientSession) => Promise<T>,
): Promise<T> {
  const session = client.startSession();
  try {
    await SessionOwners.of(client)?.register(session);
    return await session.withTransaction(work, {
      readConcern: { level: 'snapshot' },
      writeConcern: { w: 'majority' },
      readPreference: 'primary',
    });
  } finally {
    await session.endSession();
  }
}

/**
 * True for MongoDB's duplicate-key error (11000), in or out of a transaction, also as a write error
 * of a client bulkWrite (which has no code of its own).
 */
export function isDuplicateKeyError(err: unknown): boolean {
  if (err instanceof MongoClientBulkWriteError)
    return [...err.writeErrors.values()].some((writeError) => writeError.code === 11000);
  return typeof err === 'object' && err !== null && (err as { code?: unknown }).code === 11000;
}
