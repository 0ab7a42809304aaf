/**
 * Index plans: for a filter with equality (or `$in` of plain values) on the leading field(s) of an
 * index, the `_id` keys of the documents that could match, in natural order, instead of a scan.
 *
 * Candidates are a superset of the matches, never a guess: index postings hold the entries of every
 * version still kept in the MVCC chains (storage/index-catalog.ts), so whatever version a reader's
 * snapshot sees is covered; documents with nested arrays on an indexed path are always candidates;
 * and every document the reading unit wrote itself is a candidate. The caller runs the full matcher
 * on each candidate (as seen by its view), so the result is exactly that of a scan, in the same
 * order: candidates are sorted by their position in the collection (Map insertion order), and the
 * unit's own inserts of new `_id`s follow in write order, as `Transaction.scan` yields them.
 */
import { type Document, ObjectId } from 'bson';
import { isPlainObject } from '../query/documents';
import type { Transaction } from '../transactions/transaction';
import type { Collection } from './collection';
import { IRREGULAR } from './index-catalog';
import { valueKey } from './keys';

/** Most value combinations one lookup expands to (`$in` × `$in` × ...). */
const MAX_COMBINATIONS = 512;

/** Whether `v` is a value whose equality is exactly "same value key" (see keys.ts). */
export function isPlainScalar(v: unknown): boolean {
  switch (typeof v) {
    case 'string':
    case 'boolean':
      return true;
    case 'number':
      return !Number.isNaN(v);
    case 'object':
      return v instanceof ObjectId || (v instanceof Date && !Number.isNaN(v.getTime()));
    default:
      return false;
  }
}

/**
 * The values a top-level filter condition on `field` requires one of (equality or `$in` of plain
 * scalars), or null. Top-level conditions are conjunctive, so a match must have one of them.
 */
export function requiredValues(filter: Document, field: string): unknown[] | null {
  if (!Object.prototype.hasOwnProperty.call(filter, field)) return null;
  const cond: unknown = filter[field];
  if (isPlainScalar(cond)) return [cond];
  if (!isPlainObject(cond)) return null;
  const keys = Object.keys(cond);
  if (keys.length === 0 || !keys.every((k) => k.startsWith('$'))) return null;
  if ('$eq' in cond) return isPlainScalar(cond.$eq) ? [cond.$eq] : null;
  if ('$in' in cond) {
    const list: unknown = cond.$in;
    if (!Array.isArray(list) || list.length === 0 || list.length > MAX_COMBINATIONS) return null;
    return list.every(isPlainScalar) ? (list as unknown[]) : null;
  }
  return null;
}

/**
 * Candidate `_id` keys for `filter` from the most selective usable index, in natural order, or null
 * when no index applies (or it would hand out most of the collection anyway: then a scan is cheaper).
 */
export function indexCandidates(
  view: Transaction,
  coll: Collection,
  filter: Document,
): string[] | null {
  if (coll.indexes.size < 2) return null;
  let best: Array<Set<string>> | null = null;
  let bestSize = Infinity;
  const valueKeys = new Map<string, string[] | null>();
  for (const index of coll.indexes.values()) {
    if (!index.plannable) continue;
    let prefixes = [''];
    let level = 0;
    for (let f = 0; f < index.levels; f++) {
      const field = index.fields[f];
      let keys = valueKeys.get(field);
      if (keys === undefined) {
        const values = requiredValues(filter, field);
        keys = values ? [...new Set(values.map(valueKey))] : null;
        valueKeys.set(field, keys);
      }
      if (!keys || prefixes.length * keys.length > MAX_COMBINATIONS) break;
      const next: string[] = [];
      for (const p of prefixes) for (const k of keys) next.push(`${p}\u0000${k}`);
      prefixes = next;
      level = f + 1;
    }
    if (level === 0) continue;
    const sets: Array<Set<string>> = [];
    let size = 0;
    for (const p of prefixes) {
      const ids = index.postings.get(`${level}${p}`);
      if (ids) {
        sets.push(ids);
        size += ids.size;
      }
    }
    const irregular = index.postings.get(IRREGULAR);
    if (irregular) {
      sets.push(irregular);
      size += irregular.size;
    }
    if (size < bestSize) {
      best = sets;
      bestSize = size;
    }
  }
  if (!best || bestSize > coll.docs.size / 2) return null;

  const keys = new Set<string>();
  for (const ids of best) for (const k of ids) keys.add(k);
  const own = view.writes.get(coll.ns);
  const extra: string[] = [];
  if (own) {
    for (const k of own.keys()) {
      if (coll.order.has(k)) keys.add(k);
      else extra.push(k);
    }
  }
  const known = [...keys];
  if (known.length > 1) {
    const order = coll.order;
    known.sort((a, b) => (order.get(a) ?? 0) - (order.get(b) ?? 0));
  }
  return extra.length > 0 ? known.concat(extra) : known;
}
