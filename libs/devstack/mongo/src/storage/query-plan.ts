/**
 * Index plans: the `_id` keys of the documents that could match a filter, in natural order, taken
 * from indexes instead of a scan: equality postings (multikey too), ordered entries for ranges,
 * `$or` branches and sorted walks (see "Ordered plans" below).
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
import { IRREGULAR, type Index } from './index-catalog';
import { valueKey } from './keys';
import {
  type Comparable,
  comparePart,
  type EntryKey,
  HI,
  keyPart,
  type KeyPart,
  LO,
  MAX_PART,
  MIN_PART,
  type OrderedEntries,
  sameKey,
  signature,
} from './ordered-index';

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
 * Equality postings for `filter` from the index whose postings hand out the fewest candidates
 * (multikey arrays included, unlike the ordered entries), or null when no index applies.
 */
function postingSets(
  coll: Collection,
  filter: Document,
): { sets: Array<Set<string>>; size: number; index: Index } | null {
  let best: { sets: Array<Set<string>>; size: number; index: Index } | null = null;
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
    if (!best || size < best.size) best = { sets, size, index };
  }
  return best;
}

/*
 * Ordered plans (storage/ordered-index.ts), chosen like mongod's planner for the common shapes:
 * equality, `$in` and a range on an index's leading fields (the first non-equality field bounds the
 * scan, later fields filter its keys and seek past what they rule out), an `$or` whose every
 * branch has such a scan (the union of the branches' keys, each branch also bound by the conditions
 * outside the `$or`), and, when the caller sorts and keeps only the first k, a walk of an index
 * whose fields after an equality prefix are the sort, stopping after k matches (plus ties).
 * Candidate plans race as mongod's multi-planner makes them: each gets a budget of steps (64, then
 * ×4 each round) and the first to finish wins, so the winner costs a small multiple of the cheapest
 * plan; when none finishes within half the collection, a scan is as cheap.
 */

/** One field's bounds in value order; a point when `lo` equals `hi`. */
interface Interval {
  lo: KeyPart;
  hi: KeyPart;
}

/** Conditions of a conjunction by field, and the `$or` lists in it. */
interface Conjunction {
  fields: Map<string, unknown[]>;
  ors: Document[][];
}

function conjunction(filter: Document, into: Conjunction = { fields: new Map(), ors: [] }) {
  for (const [field, cond] of Object.entries(filter)) {
    if (field === '$and' && Array.isArray(cond)) {
      for (const c of cond) if (isPlainObject(c)) conjunction(c, into);
    } else if (field === '$or' && Array.isArray(cond)) {
      if (cond.length > 0 && cond.every(isPlainObject)) into.ors.push(cond as Document[]);
    } else if (!field.startsWith('$')) {
      const list = into.fields.get(field);
      if (list) list.push(cond);
      else into.fields.set(field, [cond]);
    }
  }
  return into;
}

const RANGE_RANKS = new Set([2, 3, 5]);

/** The intervals one condition restricts its field to, or null when it does not bound it. */
function condIntervals(cond: unknown): Interval[] | null {
  if (cond === undefined) return null;
  const point = keyPart(cond);
  if (point) return [{ lo: point, hi: point }];
  if (!isPlainObject(cond)) return null;
  const ops = Object.keys(cond);
  if (ops.length === 0 || !ops.every((k) => k.startsWith('$'))) return null;
  if ('$eq' in cond) {
    const p = cond.$eq === undefined ? null : keyPart(cond.$eq);
    if (p) return [{ lo: p, hi: p }];
  }
  if ('$in' in cond && Array.isArray(cond.$in) && cond.$in.length > 0) {
    const list = cond.$in as unknown[];
    if (list.length <= MAX_COMBINATIONS) {
      const parts = list.map((v) => (v === undefined ? null : keyPart(v)));
      if (parts.every((p) => p !== null)) {
        const seen = new Map<string, KeyPart>();
        for (const p of parts as KeyPart[]) seen.set(signature([p[0], p[1]]), p);
        return [...seen.values()]
          .sort((a, b) => comparePart(a[0], a[1], b[0], b[1]))
          .map((p) => ({ lo: p, hi: p }));
      }
    }
  }
  // Comparisons are type-bracketed: `$lte: date` only matches dates, so the range stays in its type.
  let range: Interval | null = null;
  for (const op of ['$gt', '$gte', '$lt', '$lte']) {
    if (!(op in cond)) continue;
    const p = keyPart(cond[op]);
    if (!p || !RANGE_RANKS.has(p[0])) continue;
    const [rank, value] = p;
    if (range && range.lo[0] !== rank) return null;
    range ??= { lo: [rank, LO], hi: [rank, HI] };
    // Inclusive even for $gt/$lt: the matcher drops the bound itself.
    if (op === '$gt' || op === '$gte') {
      if (comparePart(rank, value, range.lo[0], range.lo[1]) > 0) range.lo = [rank, value];
    } else if (comparePart(rank, value, range.hi[0], range.hi[1]) < 0) range.hi = [rank, value];
  }
  return range ? [range] : null;
}

function fieldIntervals(conds: unknown[] | undefined): Interval[] | null {
  if (!conds) return null;
  for (const c of conds) {
    const found = condIntervals(c);
    if (found) return found;
  }
  return null;
}

const isPoint = (i: Interval) => i.lo[0] === i.hi[0] && i.lo[1] === i.hi[1];

/** A scan of one index: key ranges in tree order, and the filters on the fields after the range. */
interface IndexScan {
  index: Index;
  entries: OrderedEntries;
  ranges: Array<[EntryKey, EntryKey]>;
  /** Per field: intervals its key part must lie in (null: any). */
  filters: Array<Interval[] | null>;
  /** Entries in the ranges (an upper bound on keys examined). */
  size: number;
}

function rankOf(entries: OrderedEntries, it: ReturnType<OrderedEntries['tree']['end']>): number {
  return it.equals(entries.tree.end()) ? entries.tree.size() : it.index;
}

/** Tree-order bounds of `interval` on a field with direction `dir`. */
function treeBounds(interval: Interval | null, dir: number): [KeyPart, KeyPart] {
  if (!interval) return dir === 1 ? [MIN_PART, MAX_PART] : [MAX_PART, MIN_PART];
  return dir === 1 ? [interval.lo, interval.hi] : [interval.hi, interval.lo];
}

/**
 * The scan of `index` for conditions `fields`: equality/`$in` on its leading fields, then the
 * first other field's interval; null when the leading field is not bounded.
 */
function scanFor(index: Index, fields: Map<string, unknown[]>): IndexScan | null {
  const entries = index.ordered;
  if (!entries) return null;
  const bounds = index.fields.map((f) => fieldIntervals(fields.get(f)));
  if (!bounds[0]) return null;
  let combos: Array<{ low: EntryKey; high: EntryKey }> = [{ low: [], high: [] }];
  let f = 0;
  for (; f < index.fields.length; f++) {
    const b = bounds[f];
    const dir = entries.dirs[f];
    if (b && b.every(isPoint) && combos.length * b.length <= MAX_COMBINATIONS) {
      const ordered = dir === 1 ? b : [...b].reverse();
      const next: typeof combos = [];
      for (const c of combos)
        for (const i of ordered)
          next.push({ low: [...c.low, ...i.lo], high: [...c.high, ...i.hi] });
      combos = next;
      continue;
    }
    const single = b && b.length === 1 ? b[0] : null;
    const [lo, hi] = treeBounds(single, dir);
    for (const c of combos) {
      c.low.push(...lo);
      c.high.push(...hi);
    }
    f++;
    break;
  }
  const filters = bounds.map((b, i) => (i < f ? null : b));
  for (; f < index.fields.length; f++) {
    const [lo, hi] = treeBounds(null, entries.dirs[f]);
    for (const c of combos) {
      c.low.push(...lo);
      c.high.push(...hi);
    }
  }
  const ranges: Array<[EntryKey, EntryKey]> = combos.map((c) => [
    [...c.low, LO],
    [...c.high, HI],
  ]);
  let size = 0;
  for (const [low, high] of ranges)
    size +=
      rankOf(entries, entries.tree.upperBound(high)) -
      rankOf(entries, entries.tree.lowerBound(low));
  return { index, entries, ranges, filters, size };
}

/**
 * The first field whose filter `key` fails, and the key to seek to from there (the next interval
 * of that field in tree order, or past the current prefix), or null when the key passes.
 */
function seekFrom(
  key: EntryKey,
  filters: Array<Interval[] | null>,
  dirs: number[],
): { target: EntryKey; past: boolean } | null {
  for (let i = 0; i < filters.length; i++) {
    const f = filters[i];
    if (!f) continue;
    const r = key[2 * i] as number;
    const c = key[2 * i + 1] as Comparable;
    const dir = dirs[i];
    let inside = false;
    let next: KeyPart | null = null;
    for (const iv of f) {
      const [lo, hi] = treeBounds(iv, dir);
      const fromLo = dir * comparePart(r, c, lo[0], lo[1]);
      if (fromLo >= 0 && dir * comparePart(r, c, hi[0], hi[1]) <= 0) inside = true;
      else if (fromLo < 0 && (!next || dir * comparePart(lo[0], lo[1], next[0], next[1]) < 0))
        next = lo;
    }
    if (inside) continue;
    const target: EntryKey = key.slice(0, 2 * i);
    if (next) target.push(...next);
    else target.push(...treeBounds(null, dir)[1]);
    for (let j = i + 1; j < filters.length; j++)
      target.push(...treeBounds(null, dirs[j])[next ? 0 : 1]);
    target.push(next ? LO : HI);
    return { target, past: !next };
  }
  return null;
}

/**
 * Adds the `_id` keys of `scan` to `out`, seeking past keys its filters rule out (as mongod's index
 * bounds checker does); false when that takes more than `budget` steps (entries and seeks).
 */
function collectScan(scan: IndexScan, out: Set<string>, budget = Infinity): boolean {
  const n = scan.index.fields.length;
  const { tree, dirs } = scan.entries;
  let steps = 0;
  for (const [low, high] of scan.ranges) {
    const end = tree.upperBound(high);
    let it = tree.lowerBound(low);
    while (!it.equals(end)) {
      if (++steps > budget) return false;
      const key = it.pointer;
      const seek = seekFrom(key, scan.filters, dirs);
      if (!seek) {
        out.add(key[2 * n] as string);
        it.next();
        continue;
      }
      if (scan.entries.compare(seek.target, high) > 0) break;
      it = tree.lowerBound(seek.target);
    }
  }
  if (steps + scan.entries.irregular.size > budget) return false;
  for (const k of scan.entries.irregular) out.add(k);
  return true;
}

function cheapestScan(coll: Collection, fields: Map<string, unknown[]>): IndexScan | null {
  let best: IndexScan | null = null;
  for (const index of coll.indexes.values()) {
    const scan = scanFor(index, fields);
    if (
      scan &&
      (!best || scan.size + scan.entries.irregular.size < best.size + best.entries.irregular.size)
    )
      best = scan;
  }
  return best;
}

function ixscanStage(index: Index, direction: 'forward' | 'backward' = 'forward'): Document {
  return {
    stage: 'IXSCAN',
    keyPattern: { ...index.spec.key },
    indexName: index.name,
    isMultiKey: index.ordered ? index.ordered.irregular.size > 0 : false,
    direction,
  };
}

/** What a query needs from the plan when the caller sorts and keeps only the first `k`. */
export interface TopK {
  sort: Document;
  k: number;
}

export interface QueryPlan {
  /** Candidate `_id` keys in natural order: a superset of the matches (of the first k, sorted). */
  keys: string[];
  /** mongod's shape of the access path under FETCH: IXSCAN, or OR of IXSCANs. */
  stage: Document;
  /** Whether the keys came from a walk in sort order (mongod: no blocking SORT stage). */
  sortCovered: boolean;
}

/**
 * A walk over `index` in the order of `top.sort` when its fields after an equality prefix are the
 * sort keys (all in the index's directions, or all reversed), or null when it does not apply: run
 * with a budget, it gives the `_id` keys of the first k matches and their ties, or null when that
 * takes more than `budget` entries.
 */
function sortedWalk(
  view: Transaction,
  coll: Collection,
  index: Index,
  conj: Conjunction,
  top: TopK,
  matcher: (doc: Document) => boolean,
): ((budget: number) => string[] | null) | null {
  const fields = conj.fields;
  const entries = index.ordered;
  // mingo's sort of arrays and embedded documents is not a consistent order over subsets, so a
  // walk is exact only when every document holds plain values on the index's fields.
  if (!entries || entries.irregular.size > 0) return null;
  const sortFields = Object.keys(top.sort);
  const n = index.fields.length;
  let p = 0;
  const prefix: EntryKey = [];
  while (p < n && !sortFields.includes(index.fields[p])) {
    const b = fieldIntervals(fields.get(index.fields[p]));
    if (!b || b.length !== 1 || !isPoint(b[0])) return null;
    prefix.push(...b[0].lo);
    p++;
  }
  if (sortFields.length === 0 || p + sortFields.length > n) return null;
  let reverse: boolean | null = null;
  for (let i = 0; i < sortFields.length; i++) {
    const dir: unknown = top.sort[sortFields[i]];
    if (index.fields[p + i] !== sortFields[i] || (dir !== 1 && dir !== -1)) return null;
    const flipped = dir !== entries.dirs[p + i];
    if (reverse === null) reverse = flipped;
    else if (reverse !== flipped) return null;
  }
  const first = fieldIntervals(fields.get(index.fields[p]));
  const [lo, hi] = treeBounds(first && first.length === 1 ? first[0] : null, entries.dirs[p]);
  const low: EntryKey = [...prefix, ...lo];
  const high: EntryKey = [...prefix, ...hi];
  for (let f = p + 1; f < n; f++) {
    const [a, b] = treeBounds(null, entries.dirs[f]);
    low.push(...a);
    high.push(...b);
  }
  low.push(LO);
  high.push(HI);
  const tree = entries.tree;
  const own = view.writes.get(coll.ns);
  const sortEnd = 2 * (p + sortFields.length);
  // Keys the filter's bounds rule out are passed over without fetching the document (the walk
  // stays in order, so it cannot seek): the conjunction's bounds, and those of some `$or` branch.
  const bounds = (f: Map<string, unknown[]>) => index.fields.map((x) => fieldIntervals(f.get(x)));
  const conjBounds = bounds(fields);
  const branchBounds = (conj.ors[0] ?? []).map((branch) => {
    const copy = new Map([...fields].map(([f, conds]) => [f, [...conds]]));
    return bounds(conjunction(branch, { fields: copy, ors: [] }).fields);
  });
  const possible = (key: EntryKey) =>
    within(key, conjBounds) &&
    (branchBounds.length === 0 || branchBounds.some((b) => within(key, b)));
  return (budget) => {
    const found: string[] = [];
    let boundary: EntryKey | null = null;
    let examined = 0;
    const it = reverse ? tree.reverseLowerBound(high) : tree.lowerBound(low);
    const end = tree.end();
    const begin = tree.begin();
    while (!it.equals(end)) {
      const key = it.pointer;
      if (reverse ? entries.compare(key, low) < 0 : entries.compare(key, high) > 0) break;
      if (++examined > budget) return null;
      if (boundary) {
        let same = true;
        for (let i = 2 * p; i < sortEnd && same; i++) same = key[i] === boundary[i];
        if (!same) break;
      }
      const idKey = key[2 * n] as string;
      const doc = own?.has(idKey) || !possible(key) ? null : view.get(coll, idKey); // own writes: candidates anyway
      // An entry of another version is skipped: the visible one has its own entry (or is irregular).
      if (doc && sameKey(entries.keyOf(doc), key) && matcher(doc)) {
        found.push(idKey);
        if (found.length >= top.k && !boundary) boundary = key;
      }
      if (!reverse) it.next();
      else if (it.equals(begin)) break;
      else it.pre();
    }
    return found;
  };
}

/**
 * The plan for `filter` on `coll` as seen by `view`, or null when a scan is as cheap. With `top`,
 * the keys only need to hold the first `top.k` matches in `top.sort` order (ties included).
 */
export function planQuery(
  view: Transaction,
  coll: Collection,
  filter: Document,
  matcher: (doc: Document) => boolean,
  top?: TopK,
): QueryPlan | null {
  const conj = conjunction(filter);
  const total = coll.docs.size;
  // Tried in this order each round (walks in sort order: see below).
  const options: Array<{ stage: Document; sortCovered: boolean; run: Run }> = [];
  let hasOrPlan = false;

  const eq = postingSets(coll, filter);
  if (eq)
    options.push({
      stage: ixscanStage(eq.index),
      sortCovered: false,
      run: (budget) => {
        if (eq.size > budget) return null;
        const out = new Set<string>();
        for (const ids of eq.sets) for (const k of ids) out.add(k);
        return out;
      },
    });
  for (const branches of conj.ors) {
    const scans: IndexScan[] = [];
    for (const branch of branches) {
      const copy = new Map([...conj.fields].map(([f, conds]) => [f, [...conds]]));
      const s = cheapestScan(coll, conjunction(branch, { fields: copy, ors: [] }).fields);
      if (!s) break;
      scans.push(s);
    }
    if (scans.length === branches.length) {
      hasOrPlan = true;
      options.push({
        stage: { stage: 'OR', inputStages: scans.map((s) => ixscanStage(s.index)) },
        sortCovered: false,
        run: (budget) => {
          const out = new Set<string>();
          for (const s of scans) if (!collectScan(s, out, budget - out.size)) return null;
          return out;
        },
      });
    }
  }
  const scan = cheapestScan(coll, conj.fields);
  // Each $or branch is bound by the conditions outside it too, so an $or plan makes this one moot.
  if (scan && !hasOrPlan)
    options.push({
      stage: ixscanStage(scan.index),
      sortCovered: false,
      run: (budget) => {
        const out = new Set<string>();
        return collectScan(scan, out, budget) ? out : null;
      },
    });
  if (top && Number.isFinite(top.k) && top.k > 0) {
    for (const index of coll.indexes.values()) {
      const walk = sortedWalk(view, coll, index, conj, top, matcher);
      if (!walk) continue;
      const first = Object.keys(top.sort)[0];
      const forward = top.sort[first] === (index.spec.key[first] === -1 ? -1 : 1);
      options.push({
        stage: ixscanStage(index, forward ? 'forward' : 'backward'),
        sortCovered: true,
        run: (budget) => {
          const keys = walk(budget);
          return keys ? new Set(keys) : null;
        },
      });
    }
  }
  if (options.length === 0) return null;

  let won: { keys: Set<string>; stage: Document; sortCovered: boolean } | null = null;
  const limit = Math.max(total / 2, 64);
  for (let budget = 64; !won; budget *= 4) {
    const b = Math.min(budget, limit);
    // A walk that finishes within the first budget needs no sort: it goes first then, last after.
    const walks = options.filter((o) => o.sortCovered);
    const others = options.filter((o) => !o.sortCovered);
    for (const option of budget === 64 ? [...walks, ...others] : [...others, ...walks]) {
      const keys = option.run(b);
      if (keys) {
        won = { keys, stage: option.stage, sortCovered: option.sortCovered };
        break;
      }
    }
    if (b >= limit) break;
  }
  if (!won) return null;

  const keys = won.keys;
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
  return {
    keys: extra.length > 0 ? known.concat(extra) : known,
    stage: won.stage,
    sortCovered: won.sortCovered,
  };
}

type Run = (budget: number) => Set<string> | null;

/** Whether every field of `key` lies in its intervals (value order; null: any). */
function within(key: EntryKey, filters: Array<Interval[] | null>): boolean {
  for (let i = 0; i < filters.length; i++) {
    const f = filters[i];
    if (!f) continue;
    const r = key[2 * i] as number;
    const c = key[2 * i + 1] as Comparable;
    let inside = false;
    for (const iv of f)
      if (
        comparePart(r, c, iv.lo[0], iv.lo[1]) >= 0 &&
        comparePart(r, c, iv.hi[0], iv.hi[1]) <= 0
      ) {
        inside = true;
        break;
      }
    if (!inside) return false;
  }
  return true;
}

/** Candidate keys for `filter` (no sort), or null when a scan is as cheap (tests, explain). */
export function indexCandidates(
  view: Transaction,
  coll: Collection,
  filter: Document,
): string[] | null {
  return planQuery(view, coll, filter, () => true)?.keys ?? null;
}
