/**
 * The ordered side of an index: its entries in key order (a red-black tree from @js-sdsl/ordered-set, with
 * ranks so a range can be counted in O(log n)), for range scans, `$or` branches and sorted walks
 * (storage/query-plan.ts). Like the equality postings it is a SUPERSET over the MVCC history: an
 * entry for every kept version of every document, dropped when a version is pruned and no kept
 * version of the same document has the same key.
 *
 * Only "regular" versions get an entry: every indexed path leads through embedded documents (no
 * array anywhere) to null, a missing field, a number (not NaN), a string, a boolean, a date or an
 * ObjectId. Anything else (multikey arrays, embedded documents, binary, Decimal128…) files the
 * document under `irregular`, and irregular documents are candidates of every plan. Keys order as
 * the full scan's sort does (query/fast-sort.ts and mingo): null (= missing) < numbers < strings <
 * booleans < dates < ObjectIds — mingo's type order, not mongod's (ObjectId < boolean < date) —
 * so a walk in index order agrees with `sortDocs`.
 */
import { OrderedSet } from '@js-sdsl/ordered-set';
import { type Document, ObjectId } from 'bson';
import { isPlainObject } from '../query/documents';

/** Below / above every value of a type rank (bounds only, never stored). */
export const LO = Symbol('lo');
export const HI = Symbol('hi');

export type Comparable = number | string | typeof LO | typeof HI;
/** One field of a key: [type rank, comparable value]. */
export type KeyPart = readonly [number, Comparable];
/** Tree key: the parts of every field flattened, then the `_id` key: [r0, c0, r1, c1, …, idKey]. */
export type EntryKey = Array<number | Comparable>;

export const NULL_RANK = 1;
export const NUMBER_RANK = 2;
export const STRING_RANK = 3;
export const DATE_RANK = 5;
/** Bounds of an unbounded field: below / above every rank. */
export const MIN_PART: KeyPart = [0, LO];
export const MAX_PART: KeyPart = [99, HI];

/** The key part of a plain value, or null when the value makes the document irregular. */
export function keyPart(v: unknown): KeyPart | null {
  const out: EntryKey = [];
  return pushKeyPart(out, v) ? [out[0] as number, out[1] as Comparable] : null;
}

/**
 * Appends the key part of `v` (rank, then comparable value) to `out`, or returns false when the
 * value makes the document irregular. (Appending in place spares a tuple per field.)
 */
function pushKeyPart(out: EntryKey, v: unknown): boolean {
  switch (typeof v) {
    case 'undefined':
      out.push(NULL_RANK, 0);
      return true;
    case 'number':
      if (Number.isNaN(v)) return false;
      out.push(NUMBER_RANK, v === 0 ? 0 : v);
      return true;
    case 'string':
      out.push(STRING_RANK, v);
      return true;
    case 'boolean':
      out.push(4, v ? 1 : 0);
      return true;
    case 'object':
      if (v === null) out.push(NULL_RANK, 0);
      else if (v instanceof Date) {
        const ms = v.getTime();
        if (Number.isNaN(ms)) return false;
        out.push(DATE_RANK, ms);
      } else if (v instanceof ObjectId) out.push(6, v.toHexString());
      else return false;
      return true;
    default:
      return false;
  }
}

function compareComparable(a: Comparable, b: Comparable): number {
  if (a === b) return 0;
  if (a === LO || b === HI) return -1;
  if (a === HI || b === LO) return 1;
  return a < b ? -1 : 1;
}

/** Compares two parts in value order (ascending). */
export function comparePart(ar: number, ac: Comparable, br: number, bc: Comparable): number {
  return ar !== br ? (ar < br ? -1 : 1) : compareComparable(ac, bc);
}

export class OrderedEntries {
  readonly tree: OrderedSet<EntryKey>;
  /** The tree's order. */
  readonly compare: (a: EntryKey, b: EntryKey) => number;
  /** `_id` keys of documents with an irregular kept version (candidates of every plan). */
  readonly irregular = new Set<string>();
  private readonly parts: string[][];

  constructor(
    fields: string[],
    readonly dirs: number[],
  ) {
    this.parts = fields.map((f) => f.split('.'));
    const n = fields.length;
    this.compare = (a, b) => {
      for (let i = 0; i < n; i++) {
        const c = comparePart(
          a[2 * i] as number,
          a[2 * i + 1] as Comparable,
          b[2 * i] as number,
          b[2 * i + 1] as Comparable,
        );
        if (c !== 0) return c * dirs[i];
      }
      return compareComparable(a[2 * n] as Comparable, b[2 * n] as Comparable);
    };
    this.tree = new OrderedSet<EntryKey>([], this.compare, true);
  }

  /** The entry key of `doc` (without the `_id` key appended yet), or null when irregular. */
  keyOf(doc: Document): EntryKey | null {
    const out: EntryKey = [];
    for (const parts of this.parts) {
      let v: unknown = doc;
      for (const p of parts) {
        if (Array.isArray(v)) return null;
        v = isPlainObject(v) && Object.prototype.hasOwnProperty.call(v, p) ? v[p] : undefined;
      }
      if (!pushKeyPart(out, v)) return null;
    }
    return out;
  }

  add(idKey: string, doc: Document): void {
    const key = this.keyOf(doc);
    if (!key) this.irregular.add(idKey);
    else {
      key.push(idKey);
      this.tree.insert(key);
    }
  }

  /** Removes the entries of pruned versions that no kept version of the document still has. */
  remove(idKey: string, dropped: Document[], kept: Document[]): void {
    const keep: EntryKey[] = [];
    let keptIrregular = false;
    for (const doc of kept) {
      const key = this.keyOf(doc);
      if (key) keep.push(key);
      else keptIrregular = true;
    }
    for (const doc of dropped) {
      const key = this.keyOf(doc);
      if (!key) {
        if (!keptIrregular) this.irregular.delete(idKey);
      } else if (!keep.some((k) => sameKey(k, key))) {
        key.push(idKey);
        this.tree.eraseElementByKey(key);
      }
    }
  }
}

/**
 * Whether entry key `current` (no `_id` key) is the leading part of `key`. Parts are numbers (never
 * NaN or -0) and strings, so `===` is equality.
 */
export function sameKey(current: EntryKey | null, key: EntryKey): boolean {
  if (!current) return false;
  for (let i = 0; i < current.length; i++) if (current[i] !== key[i]) return false;
  return true;
}

/** A string that is equal for equal keys (keys are short tuples of primitives). */
export function signature(key: EntryKey): string {
  return key.map((x) => (typeof x === 'symbol' ? '' : `${typeof x}:${String(x)}`)).join('\u0000');
}
