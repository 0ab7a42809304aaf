/** Small helpers for BSON documents held in memory (plain objects plus bson value classes). */
import { Binary, ObjectId, type Document } from 'bson';

export function isPlainObject(v: unknown): v is Document {
  if (v === null || typeof v !== 'object') return false;
  const proto: unknown = Object.getPrototypeOf(v);
  return proto === Object.prototype || proto === null;
}

/**
 * Deep copy of the mutable parts (plain objects, arrays, dates). bson value classes (ObjectId,
 * Binary, Decimal128, Long, ...) are immutable in practice and shared.
 */
export function cloneDoc<T>(v: T): T {
  if (Array.isArray(v)) return v.map((x: unknown) => cloneDoc(x)) as T;
  if (v instanceof Date) return new Date(v.getTime()) as T;
  if (isPlainObject(v)) {
    const out: Document = {};
    for (const k of Object.keys(v)) out[k] = cloneDoc(v[k]);
    return out as T;
  }
  return v;
}

/** Reads a dotted path; arrays on the way are traversed element-wise (multikey semantics). */
export function pathValues(doc: unknown, path: string): unknown[] {
  const parts = path.split('.');
  let current: unknown[] = [doc];
  for (const part of parts) {
    const next: unknown[] = [];
    for (const value of current) {
      if (Array.isArray(value)) {
        if (/^\d+$/.test(part)) {
          if (Number(part) < value.length) next.push(value[Number(part)]);
        } else {
          for (const el of value) if (isPlainObject(el) && part in el) next.push(el[part]);
        }
      } else if (isPlainObject(value) && part in value) {
        next.push(value[part]);
      }
    }
    current = next;
  }
  return current;
}

/** Formats a value the way mongod prints it in error messages (`{ x: "foo" }`). */
export function formatValue(v: unknown): string {
  if (typeof v === 'string') return JSON.stringify(v);
  if (v === null || v === undefined) return 'null';
  if (v instanceof ObjectId) return `ObjectId('${v.toHexString()}')`;
  if (v instanceof Date) return `new Date(${v.getTime()})`;
  if (Array.isArray(v)) return `[ ${v.map(formatValue).join(', ')} ]`;
  if (isPlainObject(v)) {
    const parts = Object.entries(v).map(([k, x]) => `${k}: ${formatValue(x)}`);
    return parts.length === 0 ? '{}' : `{ ${parts.join(', ')} }`;
  }
  return String(v);
}

export function newObjectId(): ObjectId {
  return new ObjectId();
}

/**
 * A bson Binary whose default `toString()` is lossless. mingo compares values of non-plain classes
 * by `toString()`, and Binary's default is a lossy UTF-8 decode, so two different UUIDs could
 * compare equal. Incoming Binary values are rewrapped as this class (it serializes as Binary).
 */
export class ComparableBinary extends Binary {
  override toString(encoding?: 'hex' | 'base64' | 'utf8' | 'utf-8'): string {
    if (encoding) return super.toString(encoding);
    return `${this.sub_type}:${super.toString('hex')}`;
  }
}

export function comparableBinary(b: Binary): ComparableBinary {
  return b instanceof ComparableBinary
    ? b
    : new ComparableBinary(b.buffer.subarray(0, b.position), b.sub_type);
}
