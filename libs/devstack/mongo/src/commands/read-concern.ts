/**
 * Read concern checks done before a command runs, as mongod does them:
 * - `level: 'snapshot'` outside a transaction is for reads only (find, aggregate, distinct);
 *   anything else with it is refused rather than run without a snapshot.
 * - A `$clusterTime` the client gossips must hold a Timestamp.
 */
import { type Document, Timestamp } from 'bson';
import { CommandError } from '../errors';
import { isPlainObject } from '../query/documents';

const SNAPSHOT_READS = new Set(['find', 'aggregate', 'distinct']);

export function checkReadConcern(name: string, cmd: Document): void {
  const readConcern: unknown = cmd.readConcern;
  if (
    isPlainObject(readConcern) &&
    readConcern.level === 'snapshot' &&
    cmd.autocommit === undefined &&
    !SNAPSHOT_READS.has(name)
  ) {
    throw CommandError.of(
      'InvalidOptions',
      `Command ${name} does not support { readConcern: { level: "snapshot" } } outside a multi-document transaction`,
    );
  }
  const gossip: unknown = cmd.$clusterTime;
  if (gossip !== undefined && !(isPlainObject(gossip) && gossip.clusterTime instanceof Timestamp)) {
    throw CommandError.of(
      'TypeMismatch',
      "BSON field '$clusterTime.clusterTime' is the wrong type, expected type 'timestamp'",
    );
  }
}
