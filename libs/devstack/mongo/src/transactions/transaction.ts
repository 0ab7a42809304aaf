/**
 * A unit of reads and writes over one snapshot. Two kinds share this class:
 *
 * - a multi-document transaction (`autocommit: false`): reads see the snapshot plus its own writes;
 *   writes are buffered and take locks; a conflict with another transaction, or with a change
 *   committed after the snapshot, is WriteConflict (112);
 * - one statement of a non-transactional write (`autocommit: true`): snapshot = now, committed as
 *   soon as the statement ends. Meeting a lock held by an open transaction throws LockWait so the
 *   caller waits and retries the statement.
 *
 * Writes are checked against unique indexes here (committed entries + this unit's own writes), so
 * committing can never fail.
 */
import { BSON, type Document } from 'bson';
import { CommandError, writeConflict } from '../errors';
import type { Collection } from '../storage/collection';
import { ID_INDEX_SPEC, Index } from '../storage/index-catalog';
import { valueKey } from '../storage/keys';
import { type LockOwner, type LockTable, LockWait } from './lock-table';

export interface PendingWrite {
  /** The `_id` value (kept for deletes, whose doc is null). */
  id: unknown;
  doc: Document | null;
}

export type TransactionState = 'active' | 'committed' | 'aborted';

let nextTransactionId = 1;
/** mongod's limit for a stored document (16 MiB plus a little headroom for internal use). */
const MAX_BSON_SIZE = 16 * 1024 * 1024;
const ID_INDEX = new Index(ID_INDEX_SPEC);

export class Transaction implements LockOwner {
  readonly id = nextTransactionId++;
  /** ns → idKey → pending write, in write order. */
  readonly writes = new Map<string, Map<string, PendingWrite>>();
  readonly lockKeys = new Set<string>();
  /** Unique-index entries added by this unit: `ns\0index\0entry` → idKey. */
  private readonly indexAdds = new Map<string, string>();
  state: TransactionState = 'active';
  /** Collections this multi-document transaction created: dropped again if it aborts (mongod). */
  readonly createdCollections: Array<{ db: string; name: string }> = [];
  readonly startedAt = Date.now();
  /** Why an aborted transaction ended, for logs. */
  abortReason = '';

  constructor(
    readonly snapshotTs: number,
    readonly autocommit: boolean,
    private readonly locks: LockTable,
    readonly txnNumber = 0,
  ) {}

  get hasWrites(): boolean {
    return this.writes.size > 0;
  }

  /** Every document visible to this unit, in natural order. */
  *scan(coll: Collection): Generator<Document> {
    const own = this.writes.get(coll.ns);
    if (!own) {
      for (const [, doc] of coll.scanAt(this.snapshotTs)) yield doc;
      return;
    }
    for (const key of coll.docs.keys()) {
      const mine = own.get(key);
      if (mine) {
        if (mine.doc) yield mine.doc;
        continue;
      }
      const doc = coll.visibleAt(key, this.snapshotTs);
      if (doc) yield doc;
    }
    for (const [key, mine] of own) if (mine.doc && !coll.docs.has(key)) yield mine.doc;
  }

  get(coll: Collection, key: string): Document | null {
    const mine = this.writes.get(coll.ns)?.get(key);
    if (mine) return mine.doc;
    return coll.visibleAt(key, this.snapshotTs);
  }

  insert(coll: Collection, doc: Document): void {
    const key = valueKey(doc._id);
    this.checkDocument(coll, key);
    if (this.get(coll, key)) throw ID_INDEX.duplicateError(coll.ns, [doc._id]);
    this.put(coll, key, doc._id, doc);
  }

  replace(coll: Collection, doc: Document): void {
    const key = valueKey(doc._id);
    this.checkDocument(coll, key);
    this.put(coll, key, doc._id, doc);
  }

  remove(coll: Collection, doc: Document): void {
    const key = valueKey(doc._id);
    this.checkDocument(coll, key);
    this.put(coll, key, doc._id, null);
  }

  /** Lock and snapshot checks for writing the document with id key `key`. */
  private checkDocument(coll: Collection, key: string): void {
    this.checkLock(`d\u0000${coll.ns}\u0000${key}`);
    if (!this.autocommit) {
      const latest = coll.latest(key);
      if (latest && latest.ts > this.snapshotTs && !this.writes.get(coll.ns)?.has(key))
        throw writeConflict();
    }
  }

  private checkLock(lockKey: string): void {
    const owner = this.locks.ownerOf(lockKey);
    if (owner === undefined || owner === this) return;
    if (this.autocommit) throw new LockWait(lockKey);
    throw writeConflict();
  }

  private put(coll: Collection, key: string, id: unknown, doc: Document | null): void {
    if (doc && BSON.calculateObjectSize(doc) > MAX_BSON_SIZE) {
      throw CommandError.of(
        'BSONObjectTooLarge',
        `BSONObj size: ${BSON.calculateObjectSize(doc)} is invalid. Size must be between 0 and 16793600(16MB)`,
      );
    }
    let own = this.writes.get(coll.ns);
    const previous = own?.get(key)?.doc ?? coll.latest(key)?.doc ?? null;
    const newEntries: string[] = [];
    if (doc) {
      for (const index of coll.indexes.values()) {
        if (!index.unique) continue;
        for (const { key: entry, values } of index.keysOf(doc)) {
          const addKey = `${coll.ns}\u0000${index.name}\u0000${entry}`;
          this.checkLock(`i\u0000${addKey}`);
          const ownHolder = this.indexAdds.get(addKey);
          if (ownHolder !== undefined && ownHolder !== key)
            throw index.duplicateError(coll.ns, values);
          const holder = index.entries.get(entry);
          if (
            holder !== undefined &&
            holder !== key &&
            ownHolder === undefined &&
            !own?.has(holder)
          ) {
            const holderTs = coll.latest(holder)?.ts ?? 0;
            if (!this.autocommit && holderTs > this.snapshotTs) throw writeConflict();
            throw index.duplicateError(coll.ns, values);
          }
          newEntries.push(addKey);
        }
      }
    }
    // Everything checked: record the write.
    if (previous && own?.has(key)) {
      for (const index of coll.indexes.values()) {
        if (!index.unique) continue;
        for (const { key: entry } of index.keysOf(previous)) {
          const addKey = `${coll.ns}\u0000${index.name}\u0000${entry}`;
          if (this.indexAdds.get(addKey) === key) this.indexAdds.delete(addKey);
        }
      }
    }
    for (const addKey of newEntries) this.indexAdds.set(addKey, key);
    if (!own) {
      own = new Map();
      this.writes.set(coll.ns, own);
    }
    own.set(key, { id, doc });
    if (!this.autocommit) {
      this.lock(`d\u0000${coll.ns}\u0000${key}`);
      for (const addKey of newEntries) this.lock(`i\u0000${addKey}`);
    }
  }

  private lock(lockKey: string): void {
    this.locks.acquire(lockKey, this);
    this.lockKeys.add(lockKey);
  }

  /** Drops buffered writes and locks (abort, or after commit installed them). */
  finish(state: 'committed' | 'aborted', reason = ''): void {
    this.state = state;
    this.abortReason = reason;
    this.locks.release(this.lockKeys, this);
    this.lockKeys.clear();
    if (state === 'aborted') {
      this.writes.clear();
      this.indexAdds.clear();
    }
  }
}
