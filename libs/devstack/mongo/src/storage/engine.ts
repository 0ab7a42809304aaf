/**
 * The storage engine: databases → collections, a logical clock, commits, and the journal hook.
 *
 * Everything runs on the Node event loop, so a commit (install every write of a unit at one new
 * timestamp, journal it, release its locks) is atomic without further locking.
 */
import type { Document } from 'bson';
import { CommandError } from '../errors';
import { emptyNumberPaths, normalizeDecoded, type NumberPaths } from '../query/int64';
import { LockTable } from '../transactions/lock-table';
import { Transaction } from '../transactions/transaction';
import { Collection } from './collection';
import { type IndexSpec, parseIndexSpec } from './index-catalog';
import type { Journal, JournalRecord } from './journal';
import { valueKey } from './keys';

/** Journal record type per number type (`i64` predates Double fidelity). */
const NUMBER_RECORD = { long: 'i64', double: 'dbl' } as const;

export class Engine {
  readonly databases = new Map<string, Map<string, Collection>>();
  readonly locks = new LockTable();
  /** Timestamp of the latest commit. */
  clock = 0;
  /** Open multi-document transactions (their snapshots keep old versions alive). */
  readonly openTransactions = new Set<Transaction>();
  /** Chains that still hold history, to prune when snapshots move on. */
  private readonly history = new Map<Collection, Set<string>>();
  journal: Journal | null = null;
  /** ns → field paths written as Int64 or Double (see query/int64.ts). */
  readonly numberPaths = new Map<string, NumberPaths>();

  /** Records Int64 / Double field paths of namespace `ns`; new ones are journaled. */
  addNumberPaths(ns: string, type: keyof NumberPaths, paths: Iterable<string>): void {
    let known = this.numberPaths.get(ns);
    const added: string[] = [];
    for (const path of paths) {
      if (known?.[type].has(path)) continue;
      if (!known) this.numberPaths.set(ns, (known = emptyNumberPaths()));
      known[type].add(path);
      added.push(path);
    }
    if (added.length > 0) this.journal?.append({ t: NUMBER_RECORD[type], ns, paths: added });
  }

  begin(autocommit: boolean, txnNumber = 0): Transaction {
    const tx = new Transaction(this.clock, autocommit, this.locks, txnNumber);
    if (!autocommit) this.openTransactions.add(tx);
    return tx;
  }

  commit(tx: Transaction): void {
    if (tx.hasWrites) {
      const ts = ++this.clock;
      const ops: Document[] = [];
      for (const [ns, writes] of tx.writes) {
        const coll = this.ensureCollectionNs(ns);
        for (const [key, write] of writes) {
          coll.install(key, write.doc, ts);
          this.noteHistory(coll, key);
          ops.push(write.doc ? { ns, doc: write.doc } : { ns, id: write.id });
        }
      }
      this.journal?.append({ t: 'w', ts, ops });
    }
    this.end(tx, 'committed');
  }

  abort(tx: Transaction, reason: string): void {
    if (tx.state !== 'active') return;
    this.end(tx, 'aborted', reason);
  }

  private end(tx: Transaction, state: 'committed' | 'aborted', reason = ''): void {
    tx.finish(state, reason);
    for (const { db, name } of tx.createdCollections) {
      const coll = this.collection(db, name);
      if (coll && this.uncommittedCollections.get(coll) === tx)
        this.uncommittedCollections.delete(coll);
      if (state === 'aborted') this.dropCollection(db, name);
    }
    if (!tx.autocommit) this.openTransactions.delete(tx);
    this.pruneHistory();
  }

  private noteHistory(coll: Collection, key: string): void {
    const chain = coll.docs.get(key);
    if (!chain || (chain.length === 1 && chain[0].doc !== null)) return;
    let keys = this.history.get(coll);
    if (!keys) this.history.set(coll, (keys = new Set()));
    keys.add(key);
  }

  /** Drops versions older than every open snapshot. */
  pruneHistory(): void {
    let oldest = this.clock;
    for (const tx of this.openTransactions) oldest = Math.min(oldest, tx.snapshotTs);
    for (const [coll, keys] of this.history) {
      for (const key of keys) if (!coll.prune(key, oldest)) keys.delete(key);
      if (keys.size === 0) this.history.delete(coll);
    }
  }

  // ---- catalog -------------------------------------------------------------------------------

  /** Collections created by a transaction that has not committed yet: hidden from the others. */
  private readonly uncommittedCollections = new Map<Collection, Transaction>();

  /** Whether the catalog shows `coll` to a command running in `tx` (null: outside transactions). */
  catalogVisible(coll: Collection, tx: Transaction | null): boolean {
    const creator = this.uncommittedCollections.get(coll);
    return creator === undefined || creator === tx;
  }

  collection(db: string, name: string): Collection | undefined {
    return this.databases.get(db)?.get(name);
  }

  /**
   * Creates the collection if needed (implicit creation by a write). Created inside the
   * multi-document transaction `tx`, it is dropped again if that transaction aborts.
   */
  ensureCollection(
    db: string,
    name: string,
    options: Document = {},
    tx: Transaction | null = null,
  ): Collection {
    let colls = this.databases.get(db);
    if (!colls) this.databases.set(db, (colls = new Map()));
    let coll = colls.get(name);
    if (!coll) {
      validateName(db, name);
      coll = new Collection(db, name, options);
      colls.set(name, coll);
      this.journal?.append({ t: 'cc', ns: coll.ns, options });
      if (tx && !tx.autocommit) {
        tx.createdCollections.push({ db, name });
        this.uncommittedCollections.set(coll, tx);
      }
    }
    return coll;
  }

  ensureCollectionNs(ns: string): Collection {
    const dot = ns.indexOf('.');
    return this.ensureCollection(ns.slice(0, dot), ns.slice(dot + 1));
  }

  dropCollection(db: string, name: string): boolean {
    const colls = this.databases.get(db);
    const coll = colls?.get(name);
    if (!colls || !coll) return false;
    colls.delete(name);
    this.history.delete(coll);
    this.numberPaths.delete(coll.ns);
    if (colls.size === 0) this.databases.delete(db);
    this.journal?.append({ t: 'dc', ns: coll.ns });
    return true;
  }

  dropDatabase(db: string): void {
    const colls = this.databases.get(db);
    if (!colls) return;
    for (const coll of colls.values()) {
      this.history.delete(coll);
      this.numberPaths.delete(coll.ns);
    }
    this.databases.delete(db);
    this.journal?.append({ t: 'dd', db });
  }

  createIndex(coll: Collection, spec: IndexSpec): void {
    coll.addIndex(spec);
    this.journal?.append({ t: 'ci', ns: coll.ns, spec });
  }

  dropIndex(coll: Collection, name: string): void {
    coll.indexes.delete(name);
    this.journal?.append({ t: 'di', ns: coll.ns, name });
  }

  // ---- journal replay ------------------------------------------------------------------------

  /** Applies one journal record while loading (the journal is detached meanwhile). */
  replay(record: JournalRecord): void {
    switch (record.t) {
      case 'cc':
        this.ensureCollectionNs(String(record.ns)).options = (record.options as Document) ?? {};
        break;
      case 'dc': {
        const ns = String(record.ns);
        const dot = ns.indexOf('.');
        this.dropCollection(ns.slice(0, dot), ns.slice(dot + 1));
        break;
      }
      case 'dd':
        this.dropDatabase(String(record.db));
        break;
      case 'ci':
        this.ensureCollectionNs(String(record.ns)).addIndex(parseIndexSpec(record.spec));
        break;
      case 'i64':
        this.addNumberPaths(String(record.ns), 'long', (record.paths as unknown[]).map(String));
        break;
      case 'dbl':
        this.addNumberPaths(String(record.ns), 'double', (record.paths as unknown[]).map(String));
        break;
      case 'di':
        this.ensureCollectionNs(String(record.ns)).indexes.delete(String(record.name));
        break;
      case 'w': {
        const ts = Number(record.ts);
        this.clock = Math.max(this.clock, ts);
        for (const op of record.ops as Document[]) {
          const coll = this.ensureCollectionNs(String(op.ns));
          const doc = (normalizeDecoded(op.doc) as Document | undefined) ?? null;
          const key = valueKey(doc ? doc._id : op.id);
          coll.install(key, doc, ts);
          coll.prune(key, ts);
        }
        break;
      }
      default:
        throw new Error(`unknown journal record type ${String(record.t)}`);
    }
  }
}

function validateName(db: string, name: string): void {
  if (db.length === 0 || /[/\\. "$\0]/.test(db) || db.length > 63) {
    throw CommandError.of('InvalidNamespace', `Invalid database name: '${db}'`);
  }
  if (name.length === 0 || /[$\0]/.test(name) || name.startsWith('.')) {
    throw CommandError.of('InvalidNamespace', `Invalid collection name: ${name}`);
  }
}
