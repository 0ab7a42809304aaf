/**
 * Canonical string keys for values, so documents can be found by `_id` and index entries compared
 * with a Map. Two values get the same key exactly when BSON would store the same bytes, after the
 * numeric normalisation bson's deserializer already does (1 and 1.0 are both the JS number 1).
 */
import { BSON, ObjectId } from 'bson';

export function valueKey(v: unknown): string {
  if (typeof v === 'string') return 's' + v;
  if (typeof v === 'number') return 'n' + String(v);
  if (v instanceof ObjectId) return 'o' + v.toHexString();
  if (v === null || v === undefined) return 'z';
  if (v instanceof Date) return 'd' + String(v.getTime());
  if (typeof v === 'boolean') return v ? 't1' : 't0';
  return 'b' + Buffer.from(BSON.serialize({ v })).toString('base64');
}

/** The key of a compound index entry: one value per key-pattern field. */
export function compoundKey(values: unknown[]): string {
  return values.length === 1 ? valueKey(values[0]) : values.map(valueKey).join('\u0000');
}
