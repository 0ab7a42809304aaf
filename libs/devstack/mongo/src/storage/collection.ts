/**
 * One collection's documents as MVCC version chains.
 *
 * `docs` maps the `_id` key to its versions, oldest first. A version is the document as committed at
 * timestamp `ts`, or `null` for a delete. A reader with snapshot S sees, per `_id`, the newest version
 * with ts ≤ S. Old versions are pruned once no open transaction's snapshot can see them.
 * Map insertion order gives a stable "natural order" for scans; `order` numbers the keys in that
 * order so an index plan can put its candidates back into natural order.
 */
import type { Document } from 'bson';
import { ID_INDEX_SPEC, Index, type IndexSpec } from './index-catalog';

export interface Version {
  ts: number;
  doc: Document | null;
}

export class Collection {
  readonly docs = new Map<string, Version[]>();
  readonly indexes = new Map<string, Index>();
  /** `_id` key → its position in `docs` (Map insertion order). */
  readonly order = new Map<string, number>();
  private nextOrder = 0;

  constructor(
    readonly db: string,
    readonly name: string,
    public options: Document = {},
  ) {
    this.indexes.set(ID_INDEX_SPEC.name, new Index(ID_INDEX_SPEC));
  }

  get ns(): string {
    return `${this.db}.${this.name}`;
  }

  /** The newest committed version, whatever its timestamp. */
  latest(key: string): Version | undefined {
    const chain = this.docs.get(key);
    return chain?.[chain.length - 1];
  }

  /** The document visible at snapshot `ts`, or null. */
  visibleAt(key: string, ts: number): Document | null {
    const chain = this.docs.get(key);
    return chain ? pick(chain, ts) : null;
  }

  *scanAt(ts: number): Generator<[string, Document]> {
    for (const [key, chain] of this.docs) {
      const doc = pick(chain, ts);
      if (doc) yield [key, doc];
    }
  }

  /** Installs a committed version and keeps unique-index entries and query postings in step. */
  install(key: string, doc: Document | null, ts: number): void {
    const previous = this.latest(key)?.doc ?? null;
    for (const index of this.indexes.values()) {
      // The previous version is kept (latest): its entries are the new one's when unchanged.
      if (previous && doc && index.sameEntries(previous, doc)) continue;
      if (previous) index.remove(key, previous);
      if (doc) {
        index.add(key, doc);
        index.addPostings(key, doc);
      }
    }
    const chain = this.docs.get(key);
    if (chain) chain.push({ ts, doc });
    else {
      this.docs.set(key, [{ ts, doc }]);
      this.order.set(key, this.nextOrder++);
    }
  }

  /**
   * Drops versions no snapshot ≥ `oldestSnapshot` can see. Returns true when the chain still holds
   * history (so the engine keeps it on its list to prune later).
   */
  prune(key: string, oldestSnapshot: number): boolean {
    const chain = this.docs.get(key);
    if (!chain) return false;
    let keepFrom = 0;
    for (let i = chain.length - 1; i >= 0; i--) {
      if (chain[i].ts <= oldestSnapshot) {
        keepFrom = i;
        break;
      }
    }
    if (keepFrom > 0) {
      const dropped = chain.splice(0, keepFrom);
      this.dropPostings(key, dropped, chain);
    }
    if (chain.length === 1 && chain[0].doc === null && chain[0].ts <= oldestSnapshot) {
      this.docs.delete(key);
      this.order.delete(key);
      return false;
    }
    return chain.length > 1 || chain[0].doc === null;
  }

  private dropPostings(key: string, dropped: Version[], kept: Version[]): void {
    const gone: Document[] = [];
    for (const v of dropped) if (v.doc) gone.push(v.doc);
    if (gone.length === 0) return;
    const live: Document[] = [];
    for (const v of kept) if (v.doc) live.push(v.doc);
    for (const index of this.indexes.values()) index.removePostings(key, gone, live);
  }

  /**
   * Builds an index over the latest committed state (postings over every kept version); a unique
   * index over duplicates fails with 11000.
   */
  addIndex(spec: IndexSpec): Index {
    const index = new Index(spec);
    for (const [key, chain] of this.docs)
      for (const v of chain) if (v.doc) index.addPostings(key, v.doc);
    if (index.unique) {
      for (const [key, chain] of this.docs) {
        const doc = chain[chain.length - 1].doc;
        if (!doc) continue;
        for (const entry of index.keysOf(doc)) {
          const holder = index.entries.get(entry.key);
          if (holder !== undefined && holder !== key)
            throw index.duplicateError(this.ns, entry.values);
          index.entries.set(entry.key, key);
        }
      }
    }
    this.indexes.set(spec.name, index);
    return index;
  }

  /** Number of documents in the latest committed state. */
  countLatest(): number {
    let n = 0;
    for (const chain of this.docs.values()) if (chain[chain.length - 1].doc) n++;
    return n;
  }
}

function pick(chain: Version[], ts: number): Document | null {
  for (let i = chain.length - 1; i >= 0; i--) if (chain[i].ts <= ts) return chain[i].doc;
  return null;
}
