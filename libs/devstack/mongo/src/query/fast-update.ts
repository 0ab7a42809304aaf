/**
 * A fast path for the common update operators on plain field paths, so the hot `updateOne` by `_id`
 * does not pay for mingo's per-call setup and its deep clone of the whole document.
 *
 * Handles `$set`, `$unset`, `$inc`, `$setOnInsert`, `$min`, `$max` and `$currentDate` (date) when
 * every path is a dotted path of plain field names (no positional `$`, `$[]`, `$[id]`, array
 * positions or numeric field names), no path touches `_id`, no two paths overlap, and every step
 * of a path meets a missing field or an embedded document (never an array or a scalar). For
 * anything else `fastUpdate` returns null and the caller runs mingo (query/mingo-adapter.ts), so
 * edge cases keep exactly the old behaviour. Within its scope it does what mingo did, which is
 * what mongod does, with these additions taken from mongod:
 *
 * - `$inc` of a field holding a non-numeric value (string, null, date, ...) fails with
 *   TypeMismatch (14) "Cannot apply $inc to a value of non-numeric type" (mingo skipped it);
 * - `$set` to an embedded document equal up to field order replaces it (mongod compares bytes;
 *   mingo compared field sets), so field order follows the update.
 *
 * New fields are appended in the order of the update (operator by operator, then path by path), as
 * mingo does. (mongod 5.0+ appends them in lexicographic order of field name; a known deviation of
 * both paths.) Int64 values are plain numbers here (query/int64.ts), so `$inc` of an Int64 field
 * stays Int64 on output; a result outside ±2^53, a Long or Decimal128 operand, or NaN goes to
 * mingo. The input document is never mutated: touched embedded documents are copied, the rest is
 * shared with the previous version (stored versions are immutable).
 */
import { BSON, type Document, ObjectId } from 'bson';
import { CommandError } from '../errors';
import { cloneDoc, formatValue, isPlainObject } from './documents';

export interface FastUpdateOutcome {
  doc: Document;
  modified: boolean;
}

type Op = '$set' | '$unset' | '$inc' | '$min' | '$max' | '$currentDate';

interface Step {
  op: Op;
  path: string;
  segments: string[];
  value: unknown;
}

const SUPPORTED = new Set([
  '$set',
  '$unset',
  '$inc',
  '$setOnInsert',
  '$min',
  '$max',
  '$currentDate',
]);

/**
 * Parses the update into steps in the order mingo applies them, or null when it is outside the fast
 * path's scope. As in applyUpdate (mingo-adapter.ts), an inserting $setOnInsert joins $set, at the
 * position of whichever of the two comes first; otherwise $setOnInsert is dropped.
 */
function plan(u: Document, inserting: boolean): Step[] | null {
  const groups = new Map<string, Step[]>();
  const paths = new Set<string>();
  for (const op in u) {
    if (!SUPPORTED.has(op)) return null;
    const spec: unknown = u[op];
    if (!isPlainObject(spec)) return null;
    const group = op === '$setOnInsert' ? '$set' : op;
    const apply = op !== '$setOnInsert' || inserting;
    let list = groups.get(group);
    if (!list && apply) groups.set(group, (list = []));
    let count = 0;
    for (const path in spec) {
      count++;
      const segments = path.split('.');
      for (const seg of segments) if (!isPlainSegment(seg)) return null;
      if (segments[0] === '_id' || paths.has(path)) return null;
      paths.add(path);
      const value: unknown = spec[path];
      if (op === '$inc' && !isFastNumber(value)) return null;
      if (op === '$currentDate' && value !== true && !(isPlainObject(value) && isDateType(value)))
        return null;
      if (apply) list!.push({ op: group as Op, path, segments, value });
    }
    if (count === 0) return null;
  }
  // Overlapping paths (`a` and `a.b`) are a conflict error: mingo's (and mongod's) business.
  for (const path of paths) {
    let dot = path.indexOf('.');
    while (dot > 0) {
      if (paths.has(path.slice(0, dot))) return null;
      dot = path.indexOf('.', dot + 1);
    }
  }
  const steps: Step[] = [];
  for (const list of groups.values()) steps.push(...list);
  return steps;
}

/** A field name: not empty, not `$`-prefixed (positional operators), not an array position. */
function isPlainSegment(seg: string): boolean {
  if (seg.length === 0 || seg.charCodeAt(0) === 36 /* $ */) return false;
  for (let i = 0; i < seg.length; i++) {
    const c = seg.charCodeAt(i);
    if (c < 48 || c > 57) return true;
  }
  return false;
}

function isFastNumber(v: unknown): v is number {
  return typeof v === 'number' && !Number.isNaN(v);
}

function isDateType(v: Document): boolean {
  const keys = Object.keys(v);
  return keys.length === 1 && keys[0] === '$type' && v.$type === 'date';
}

class Fallback extends Error {}
const FALLBACK = new Fallback();

/**
 * Applies `u` to a copy of `current`, or returns null when the update is outside the fast path.
 * `inserting` applies $setOnInsert (upsert) instead of dropping it.
 */
export function fastUpdate(
  current: Document,
  u: Document,
  inserting: boolean,
): FastUpdateOutcome | null {
  const steps = plan(u, inserting);
  if (!steps) return null;
  const root: Document = { ...current };
  const fresh = new Set<Document>([root]);
  let now: Date | undefined;
  let modified = false;
  try {
    for (const step of steps) {
      const last = step.segments.length - 1;
      const create = step.op !== '$unset';
      const parent = walk(root, step.segments, create, fresh);
      if (!parent) continue; // $unset through a missing field
      const key = step.segments[last];
      const has = Object.prototype.hasOwnProperty.call(parent, key);
      const old: unknown = has ? parent[key] : undefined;
      switch (step.op) {
        case '$set':
          if (has && bsonEqual(old, step.value)) break;
          parent[key] = cloneDoc(step.value);
          modified = true;
          break;
        case '$unset':
          if (!has) break;
          delete parent[key];
          modified = true;
          break;
        case '$inc': {
          const by = step.value as number;
          if (!has) {
            parent[key] = by;
            modified = true;
            break;
          }
          if (typeof old !== 'number') {
            if (isNumericClass(old)) throw FALLBACK;
            throw incTypeMismatch(current, step.path, old);
          }
          if (Number.isNaN(old)) throw FALLBACK;
          const sum = old + by;
          if (Number.isInteger(old) && Number.isInteger(by) && !Number.isSafeInteger(sum))
            throw FALLBACK;
          if (sum !== old) {
            parent[key] = sum;
            modified = true;
          }
          break;
        }
        case '$min':
        case '$max': {
          if (!has) {
            parent[key] = cloneDoc(step.value);
            modified = true;
            break;
          }
          const c = compareSameType(old, step.value);
          if (c === null) throw FALLBACK;
          if (step.op === '$min' ? c > 0 : c < 0) {
            parent[key] = cloneDoc(step.value);
            modified = true;
          }
          break;
        }
        case '$currentDate':
          parent[key] = now ??= new Date();
          modified = true;
          break;
      }
    }
  } catch (err) {
    if (err === FALLBACK) return null;
    throw err;
  }
  return { doc: root, modified };
}

/**
 * The embedded document holding the last segment, copying documents on the way so `current` stays
 * untouched. Missing fields become new documents when `create`; otherwise null is returned. An
 * array or scalar on the way is out of scope (mongod's PathNotViable rules stay with mingo).
 */
function walk(
  root: Document,
  segments: string[],
  create: boolean,
  fresh: Set<Document>,
): Document | null {
  let parent = root;
  for (let i = 0; i < segments.length - 1; i++) {
    const seg = segments[i];
    const next: unknown = Object.prototype.hasOwnProperty.call(parent, seg)
      ? parent[seg]
      : undefined;
    if (next === undefined) {
      if (!create) return null;
      const made: Document = {};
      parent[seg] = made;
      fresh.add(made);
      parent = made;
    } else if (isPlainObject(next)) {
      if (fresh.has(next)) {
        parent = next;
      } else {
        const copy: Document = { ...next };
        parent[seg] = copy;
        fresh.add(copy);
        parent = copy;
      }
    } else {
      throw FALLBACK;
    }
  }
  return parent;
}

function isNumericClass(v: unknown): boolean {
  if (v === null || typeof v !== 'object') return false;
  const t = (v as { _bsontype?: unknown })._bsontype;
  return t === 'Long' || t === 'Decimal128' || t === 'Double' || t === 'Int32';
}

/** mongod's type names as shown in "non-numeric type" messages. */
function bsonTypeName(v: unknown): string {
  if (v === null || v === undefined) return 'null';
  if (typeof v === 'string') return 'string';
  if (typeof v === 'boolean') return 'bool';
  if (v instanceof Date) return 'date';
  if (Array.isArray(v)) return 'array';
  if (v instanceof ObjectId) return 'objectId';
  if (v instanceof RegExp) return 'regex';
  if (isPlainObject(v)) return 'object';
  const t = (v as { _bsontype?: unknown })._bsontype;
  if (t === 'Binary') return 'binData';
  if (t === 'Timestamp') return 'timestamp';
  return typeof t === 'string' ? t.toLowerCase() : typeof v;
}

function incTypeMismatch(current: Document, path: string, old: unknown): CommandError {
  return CommandError.of(
    'TypeMismatch',
    `Cannot apply $inc to a value of non-numeric type. {_id: ${formatValue(current._id)}} has the field '${path.split('.').pop()}' of non-numeric type ${bsonTypeName(old)}`,
  );
}

/** Orders two numbers or two dates; null for any other pair (mingo decides those). */
function compareSameType(a: unknown, b: unknown): number | null {
  if (isFastNumber(a) && isFastNumber(b)) return a < b ? -1 : a > b ? 1 : 0;
  if (a instanceof Date && b instanceof Date) {
    const x = a.getTime();
    const y = b.getTime();
    if (Number.isNaN(x) || Number.isNaN(y)) return null;
    return x < y ? -1 : x > y ? 1 : 0;
  }
  return null;
}

/**
 * Whether two stored values would serialize to the same BSON (field order matters, as for mongod's
 * "no-op update" check). Numbers compare by value (Int32/Double are both JS numbers here).
 */
export function bsonEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== typeof b || a === null || b === null) return false;
  if (typeof a === 'number') return Number.isNaN(a) && Number.isNaN(b);
  if (typeof a !== 'object') return false;
  if (Array.isArray(a)) {
    if (!Array.isArray(b) || a.length !== b.length) return false;
    for (let i = 0; i < a.length; i++) if (!bsonEqual(a[i], b[i])) return false;
    return true;
  }
  if (isPlainObject(a)) {
    if (!isPlainObject(b)) return false;
    const ka = Object.keys(a);
    const kb = Object.keys(b);
    if (ka.length !== kb.length) return false;
    for (let i = 0; i < ka.length; i++) {
      if (ka[i] !== kb[i] || !bsonEqual(a[ka[i]], b[kb[i]])) return false;
    }
    return true;
  }
  if (a instanceof Date) return b instanceof Date && a.getTime() === b.getTime();
  if (a instanceof ObjectId) return b instanceof ObjectId && a.equals(b);
  if (a instanceof RegExp)
    return b instanceof RegExp && a.source === b.source && a.flags === b.flags;
  const ta = (a as { _bsontype?: unknown })._bsontype;
  const tb = (b as { _bsontype?: unknown })._bsontype;
  if (ta === undefined || ta !== tb) return false;
  // Other bson value classes (Binary, Decimal128, Long, Timestamp, ...): their bytes.
  return bsonValueString(a) === bsonValueString(b as object);
}

function bsonValueString(v: object): string {
  return Buffer.from(BSON.serialize({ v })).toString('base64');
}
