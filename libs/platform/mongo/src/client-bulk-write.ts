import {
  type MongoClient,
  MongoClientBulkWriteError,
  MongoServerError,
  type TopologyDescriptionChangedEvent,
} from 'mongodb';

/** MongoDB 8.0's wire version, the first with the `bulkWrite` command (`MongoClient.bulkWrite`). */
export const CLIENT_BULK_WRITE_WIRE_VERSION = 25;

/** The wire version each client's deployment speaks (all its servers), or the hello learning it. */
const wireVersions = new WeakMap<MongoClient, number | Promise<number>>();

/**
 * Whether the deployment `client` talks to has the `bulkWrite` command (MongoDB 8.0+), which
 * writes to several collections in one round trip, inside a transaction too. Learned once per
 * client from a `hello`, then kept current from the driver's topology events (an upgrade or a
 * downgrade of the deployment); after that a call costs a map lookup.
 */
export async function supportsClientBulkWrite(client: MongoClient): Promise<boolean> {
  let known = wireVersions.get(client);
  if (known === undefined) {
    known = learnWireVersion(client);
    wireVersions.set(client, known);
  }
  return (typeof known === 'number' ? known : await known) >= CLIENT_BULK_WRITE_WIRE_VERSION;
}

async function learnWireVersion(client: MongoClient): Promise<number> {
  client.on('topologyDescriptionChanged', (event: TopologyDescriptionChangedEvent) => {
    const version = event.newDescription.commonWireVersion;
    if (version > 0) wireVersions.set(client, version);
  });
  try {
    const hello = await client.db('admin').command({ hello: 1 });
    const version = Number(hello.maxWireVersion ?? 0);
    if (typeof wireVersions.get(client) !== 'number') wireVersions.set(client, version);
    return version;
  } catch (err) {
    wireVersions.delete(client); // asked again by the next call
    throw err;
  }
}

/**
 * The error a failed client bulkWrite stands for, as the per-collection commands would have thrown
 * it: when the command itself failed, the server's error (the driver wraps it, and the wrapper
 * loses its labels — TransientTransactionError, which makes `withTransaction` rerun); otherwise
 * the MongoClientBulkWriteError with its writeErrors (see `isDuplicateKeyError`).
 */
export function unwrapClientBulkWriteError(err: unknown): unknown {
  if (err instanceof MongoClientBulkWriteError && err.cause instanceof MongoServerError)
    return err.cause;
  return err;
}
