/**
 * Read concern checks done before a command runs, as mongod does them:
 * - `level: 'snapshot'` outside a transaction: mongod allows it for find, aggregate and distinct
 *   (reads at one `atClusterTime`), which this server does not implement; it refuses them loudly
 *   rather than answer a snapshot session's later reads with later writes. Anything else with it is
 *   refused as mongod refuses it.
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
    cmd.autocommit === undefined
  ) {
    throw CommandError.of(
      'InvalidOptions',
      SNAPSHOT_READS.has(name)
        ? `the devstack does not implement snapshot reads outside a transaction (atClusterTime): ${name} refused rather than read later writes`
        : `Command ${name} does not support { readConcern: { level: "snapshot" } } outside a multi-document transaction`,
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
