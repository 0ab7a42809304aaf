/**
 * Sorting without mingo for the common case: every sort key is 1 or -1 on a plain field path and,
 * per key, every document holds a value of one kind there (all strings, all numbers, all dates, all
 * ObjectIds or all booleans). Then the order is a stable sort by the keys, which is exactly what
 * mingo's `$sort` produces (it sorts stably key by key, last key first; ties keep input order).
 * Anything else (missing or null values, arrays, mixed types, `$meta`, ...) returns null and mingo
 * sorts, so its rules for those cases stay.
 */
import { type Document, ObjectId } from 'bson';
import { isPlainObject } from './documents';

type Kind = 'string' | 'number' | 'date' | 'objectId' | 'boolean';

function kindOf(v: unknown): Kind | null {
  switch (typeof v) {
    case 'string':
      return 'string';
    case 'number':
      return Number.isNaN(v) || Object.is(v, -0) ? null : 'number';
    case 'boolean':
      return 'boolean';
    case 'object':
      if (v instanceof Date) return Number.isNaN(v.getTime()) ? null : 'date';
      if (v instanceof ObjectId) return 'objectId';
      return null;
    default:
      return null;
  }
}

/** The sort key of one document for one field, comparable with `<`. */
function comparable(v: unknown, kind: Kind): string | number | boolean {
  if (kind === 'date') return (v as Date).getTime();
  if (kind === 'objectId') return (v as ObjectId).toHexString();
  return v as string | number | boolean;
}

function resolvePlain(doc: Document, parts: string[]): unknown {
  let v: unknown = doc;
  for (const p of parts) {
    if (!isPlainObject(v) || !Object.prototype.hasOwnProperty.call(v, p)) return undefined;
    v = v[p];
  }
  return v;
}

/** `docs` sorted by `sort` (a new array), or null when mingo must decide. */
export function fastSort(docs: Document[], sort: Document): Document[] | null {
  const fields = Object.keys(sort);
  if (fields.length === 0) return null;
  const dirs: number[] = [];
  const paths: string[][] = [];
  for (const f of fields) {
    const dir: unknown = sort[f];
    if (dir !== 1 && dir !== -1) return null;
    const parts = f.split('.');
    if (parts.some((p) => p.length === 0 || p.startsWith('$'))) return null;
    dirs.push(dir);
    paths.push(parts);
  }
  const rows: Array<{ doc: Document; keys: Array<string | number | boolean> }> = [];
  const kinds: Array<Kind | null> = fields.map(() => null);
  for (const doc of docs) {
    const keys: Array<string | number | boolean> = [];
    for (let i = 0; i < paths.length; i++) {
      const v = resolvePlain(doc, paths[i]);
      const kind = kindOf(v);
      if (kind === null) return null;
      if (kinds[i] === null) kinds[i] = kind;
      else if (kinds[i] !== kind) return null;
      keys.push(comparable(v, kind));
    }
    rows.push({ doc, keys });
  }
  const n = dirs.length;
  rows.sort((a, b) => {
    for (let i = 0; i < n; i++) {
      const x = a.keys[i];
      const y = b.keys[i];
      if (x < y) return -dirs[i];
      if (x > y) return dirs[i];
    }
    return 0;
  });
  return rows.map((r) => r.doc);
}
