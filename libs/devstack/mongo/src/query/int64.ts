/**
 * Int64 fidelity. Documents are held with plain JS numbers so mingo can compare and do arithmetic,
 * but a field written as Int64 must come back as Int64 (a driver with `useBigInt64` expects a
 * bigint, e.g. for money in minor units). So:
 *
 * - commands are decoded with `useBigInt64` (every Int64 arrives as a bigint);
 * - before a command runs, the field paths that receive an Int64 in a write (inserted documents,
 *   replacement documents, update operator values) are recorded per namespace;
 * - then every bigint in the command becomes a number (or a bson Long beyond 2^53);
 * - documents leaving the server (find, getMore, aggregate, findAndModify) have integral numbers at
 *   recorded paths written as Int64 again.
 *
 * Paths ignore array positions (`items.units` covers `items.3.units`). A field that holds Int64 in
 * some documents and Int32 in others comes back as Int64 everywhere (a documented deviation).
 */
import { Binary, type Document, Long } from 'bson';
import { comparableBinary, isPlainObject } from './documents';

/**
 * Prepares decoded values for storage and mingo, deeply and in place for containers: every bigint
 * becomes a number (or a Long beyond 2^53), every Binary a ComparableBinary.
 */
export function normalizeDecoded(v: unknown): unknown {
  if (typeof v === 'bigint') return toNumberOrLong(v);
  if (v instanceof Binary) return comparableBinary(v);
  if (Array.isArray(v)) {
    for (let i = 0; i < v.length; i++) v[i] = normalizeDecoded(v[i]);
    return v;
  }
  if (isPlainObject(v)) {
    for (const k of Object.keys(v)) v[k] = normalizeDecoded(v[k]);
  }
  return v;
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

/** Records the paths of bigint values inside a document (or sub-value) rooted at `prefix`. */
export function collectDocumentPaths(v: unknown, prefix: string, out: Set<string>): void {
  if (typeof v === 'bigint') {
    if (prefix) out.add(fieldPath(prefix));
  } else if (Array.isArray(v)) {
    for (const el of v) collectDocumentPaths(el, prefix, out);
  } else if (isPlainObject(v)) {
    for (const [k, x] of Object.entries(v))
      collectDocumentPaths(x, prefix ? `${prefix}.${k}` : k, out);
  }
}

/** Records Int64 paths written by an update (operators, replacement or pipeline). */
export function collectUpdatePaths(u: unknown, out: Set<string>): void {
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
 * Int64 paths a write command introduces for its target collection (before normalisation).
 */
export function int64PathsOfCommand(name: string, cmd: Document): Set<string> {
  const out = new Set<string>();
  if (name === 'insert' && Array.isArray(cmd.documents)) {
    for (const doc of cmd.documents) collectDocumentPaths(doc, '', out);
  } else if (name === 'update' && Array.isArray(cmd.updates)) {
    for (const st of cmd.updates) if (isPlainObject(st)) collectUpdatePaths(st.u, out);
  } else if ((name === 'findAndModify' || name === 'findandmodify') && cmd.update !== undefined) {
    collectUpdatePaths(cmd.update, out);
  }
  return out;
}

/** A copy of `doc` with integral numbers at `paths` turned back into Int64. */
export function reviveInt64(doc: Document, paths: ReadonlySet<string> | undefined): Document {
  if (!paths || paths.size === 0) return doc;
  return revive(doc, '', paths) as Document;
}

function hasPathUnder(paths: ReadonlySet<string>, prefix: string): boolean {
  if (paths.has(prefix)) return true;
  const head = `${prefix}.`;
  for (const p of paths) if (p.startsWith(head)) return true;
  return false;
}

function revive(v: unknown, prefix: string, paths: ReadonlySet<string>): unknown {
  if (typeof v === 'number')
    return Number.isInteger(v) && paths.has(prefix) ? Long.fromNumber(v) : v;
  if (prefix && !hasPathUnder(paths, prefix)) return v;
  if (Array.isArray(v)) return v.map((el) => revive(el, prefix, paths));
  if (isPlainObject(v)) {
    const out: Document = {};
    for (const [k, x] of Object.entries(v))
      out[k] = revive(x, prefix ? `${prefix}.${k}` : k, paths);
    return out;
  }
  return v;
}
