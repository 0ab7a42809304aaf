/**
 * Number type fidelity. Documents are held with plain JS numbers so mingo can compare and do
 * arithmetic, but a field written as Int64 must come back as Int64 (a driver with `useBigInt64`
 * expects a bigint, e.g. for money in minor units) and one written as Double must come back as
 * Double even when integral (`new Double(5)` is not Int32 5; `$inc` on a double stays double). So:
 *
 * - commands are decoded without value promotion (Int32, Double and Int64 arrive as bson classes);
 * - before a command runs, the field paths that receive an Int64 or a Double in a write (inserted
 *   documents, replacement documents, update operator values) are recorded per namespace;
 * - then every number in the command becomes a JS number (an Int64 beyond 2^53 stays a bson Long);
 * - documents leaving the server (find, getMore, aggregate, findAndModify, distinct) have integral
 *   numbers at recorded paths written as Int64 (or Double) again.
 *
 * Paths ignore array positions (`items.units` covers `items.3.units`). A field that holds Int64 (or
 * Double) in some documents and Int32 in others comes back as Int64 (Double) everywhere, and a
 * Double computed by aggregation from Int32 inputs comes back Int32 (documented deviations).
 */
import { Binary, BSONSymbol, type Document, Double, Int32, Long, Timestamp } from 'bson';
import { comparableBinary, isPlainObject, pathValues } from './documents';

/** Field paths of one namespace written with a non-default number type. */
export interface NumberPaths {
  readonly long: Set<string>;
  readonly double: Set<string>;
}

export function emptyNumberPaths(): NumberPaths {
  return { long: new Set(), double: new Set() };
}

/**
 * Prepares decoded values for storage and mingo, deeply and in place for containers: Int32 and
 * Double become numbers, Int64 (bigint or Long) a number (or a Long beyond 2^53), every Binary a
 * ComparableBinary.
 */
export function normalizeDecoded(v: unknown): unknown {
  if (v === null || typeof v !== 'object') {
    return typeof v === 'bigint' ? toNumberOrLong(v) : v;
  }
  if (v instanceof Int32 || v instanceof Double) return v.value;
  if (isInt64(v)) return toNumberOrLong(v.toBigInt());
  if (v instanceof Binary) return comparableBinary(v);
  if (v instanceof BSONSymbol) return v.value;
  if (Array.isArray(v)) {
    for (let i = 0; i < v.length; i++) v[i] = normalizeDecoded(v[i]);
    return v;
  }
  if (isPlainObject(v)) {
    for (const k of Object.keys(v)) v[k] = normalizeDecoded(v[k]);
  }
  return v;
}

/** A bson Long, but not a Timestamp (bson's Timestamp extends Long). */
function isInt64(v: unknown): v is Long {
  return v instanceof Long && !(v instanceof Timestamp);
}

function toNumberOrLong(v: bigint): number | Long {
  return v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER)
    ? Number(v)
    : Long.fromBigInt(v);
}

/** Collapses an update/document path to its field names: drops positions and positional operators. */
export function fieldPath(path: string): string {
  return path
    .split('.')
    .filter((seg) => !/^\d+$/.test(seg) && seg !== '$' && !seg.startsWith('$['))
    .join('.');
}

/** Records the paths of Int64 and Double values inside a (raw) document rooted at `prefix`. */
export function collectDocumentPaths(v: unknown, prefix: string, out: NumberPaths): void {
  if (typeof v === 'bigint' || isInt64(v)) {
    if (prefix) out.long.add(fieldPath(prefix));
  } else if (v instanceof Double) {
    if (prefix) out.double.add(fieldPath(prefix));
  } else if (Array.isArray(v)) {
    for (const el of v) collectDocumentPaths(el, prefix, out);
  } else if (isPlainObject(v)) {
    for (const [k, x] of Object.entries(v))
      collectDocumentPaths(x, prefix ? `${prefix}.${k}` : k, out);
  }
}

/** Records Int64 and Double paths written by an update (operators, replacement or pipeline). */
export function collectUpdatePaths(u: unknown, out: NumberPaths): void {
  if (Array.isArray(u)) {
    for (const stage of u) {
      if (!isPlainObject(stage)) continue;
      const spec = stage.$set ?? stage.$addFields;
      if (isPlainObject(spec)) collectDocumentPaths(spec, '', out);
    }
    return;
  }
  if (!isPlainObject(u)) return;
  const keys = Object.keys(u);
  if (keys.length === 0 || !keys[0].startsWith('$')) {
    collectDocumentPaths(u, '', out);
    return;
  }
  for (const [op, spec] of Object.entries(u)) {
    if (
      !isPlainObject(spec) ||
      op === '$unset' ||
      op === '$rename' ||
      op === '$pull' ||
      op === '$pullAll'
    )
      continue;
    for (const [path, value] of Object.entries(spec)) {
      // $push/$addToSet modifiers: {$each: [...]}.
      const inner = isPlainObject(value) && Array.isArray(value.$each) ? value.$each : value;
      collectDocumentPaths(inner, path, out);
    }
  }
}

/**
 * Int64 and Double paths a write command introduces for its target collection (before
 * normalisation).
 */
export function numberPathsOfCommand(name: string, cmd: Document): NumberPaths {
  const out = emptyNumberPaths();
  if (name === 'insert' && Array.isArray(cmd.documents)) {
    for (const doc of cmd.documents) collectDocumentPaths(doc, '', out);
  } else if (name === 'update' && Array.isArray(cmd.updates)) {
    for (const st of cmd.updates) if (isPlainObject(st)) collectUpdatePaths(st.u, out);
  } else if ((name === 'findAndModify' || name === 'findandmodify') && cmd.update !== undefined) {
    collectUpdatePaths(cmd.update, out);
  }
  return out;
}

const INT32_MAX = 2 ** 31 - 1;
const INT32_MIN = -(2 ** 31);

/**
 * Paths where `$inc`/`$mul` of `u` left an integer outside the Int32 range that is not recorded as
 * Double: mongod widens such Int32 results to Int64 (bson would send the number as a Double).
 */
export function overflowedPaths(
  u: unknown,
  doc: Document,
  paths: NumberPaths | undefined,
): string[] {
  if (!isPlainObject(u)) return [];
  const out: string[] = [];
  for (const op of ['$inc', '$mul']) {
    const spec: unknown = u[op];
    if (!isPlainObject(spec)) continue;
    for (const path of Object.keys(spec)) {
      const field = fieldPath(path);
      if (paths?.double.has(field) || paths?.long.has(field) || field !== path) continue;
      const overflow = pathValues(doc, path).some(
        (v) => typeof v === 'number' && Number.isInteger(v) && (v > INT32_MAX || v < INT32_MIN),
      );
      if (overflow) out.push(field);
    }
  }
  return out;
}

/** The bson value an integral stored number at `path` is sent as (the number itself if Int32). */
export function reviveNumber(v: number, path: string, paths: NumberPaths): number | Long | Double {
  if (!Number.isInteger(v)) return v;
  if (paths.long.has(path)) return Long.fromNumber(v);
  if (paths.double.has(path)) return new Double(v);
  return v;
}

/** A copy of `doc` with integral numbers at recorded paths turned back into Int64 or Double. */
export function reviveNumbers(doc: Document, paths: NumberPaths | undefined): Document {
  if (!paths || (paths.long.size === 0 && paths.double.size === 0)) return doc;
  return revive(doc, '', paths) as Document;
}

/** Every recorded path and each of its ancestors (`a.b.c` → `a`, `a.b`, `a.b.c`), per path set. */
const pathsAndAncestors = new WeakMap<ReadonlySet<string>, { size: number; all: Set<string> }>();

/** Whether a recorded path is `prefix` or lies under it. (Path sets only grow.) */
function hasPathUnder(paths: ReadonlySet<string>, prefix: string): boolean {
  let cached = pathsAndAncestors.get(paths);
  if (!cached || cached.size !== paths.size) {
    const all = new Set<string>();
    for (const p of paths) {
      all.add(p);
      for (let i = p.indexOf('.'); i !== -1; i = p.indexOf('.', i + 1)) all.add(p.slice(0, i));
    }
    pathsAndAncestors.set(paths, (cached = { size: paths.size, all }));
  }
  return cached.all.has(prefix);
}

function revive(v: unknown, prefix: string, paths: NumberPaths): unknown {
  if (typeof v === 'number') return reviveNumber(v, prefix, paths);
  const array = Array.isArray(v);
  if (!array && !isPlainObject(v)) return v;
  if (prefix && !hasPathUnder(paths.long, prefix) && !hasPathUnder(paths.double, prefix)) return v;
  if (array) return v.map((el) => revive(el, prefix, paths));
  const out: Document = {};
  for (const k of Object.keys(v)) out[k] = revive(v[k], prefix ? `${prefix}.${k}` : k, paths);
  return out;
}
