/**
 * Index definitions of one collection and the entry map of each unique index.
 *
 * Only unique indexes keep entries (key → the `_id` key of the document holding it); they exist to
 * answer "would this write duplicate a key?". Entries always describe the latest committed state;
 * transactions check their own writes on top (see transactions/transaction.ts). Queries do not use
 * indexes (except the `_id` lookup in storage/collection.ts): a dev server scans.
 */
import type { Document } from 'bson';
import { CommandError } from '../errors';
import { formatValue, isPlainObject, pathValues } from '../query/documents';
import { compileFilter, type Matcher } from '../query/mingo-adapter';
import { compoundKey } from './keys';

export interface IndexSpec {
  v: 2;
  key: Document;
  name: string;
  unique?: boolean;
  sparse?: boolean;
  expireAfterSeconds?: number;
  partialFilterExpression?: Document;
}

export class Index {
  /** Unique indexes only: entry key → holder's id key. */
  readonly entries = new Map<string, string>();
  readonly fields: string[];
  private readonly partial: Matcher | null;

  constructor(readonly spec: IndexSpec) {
    this.fields = Object.keys(spec.key);
    this.partial = spec.partialFilterExpression
      ? compileFilter(spec.partialFilterExpression)
      : null;
  }

  get name(): string {
    return this.spec.name;
  }

  get unique(): boolean {
    return this.spec.unique === true;
  }

  /** Whether `doc` has entries in this index at all (partial filter, sparse). */
  covers(doc: Document): boolean {
    if (this.partial && !this.partial(doc)) return false;
    if (this.spec.sparse && this.fields.every((f) => pathValues(doc, f).length === 0)) return false;
    return true;
  }

  /** Entry keys of `doc` (several for multikey); each with the values for `keyValue`. */
  keysOf(doc: Document): Array<{ key: string; values: unknown[] }> {
    if (!this.covers(doc)) return [];
    let combos: unknown[][] = [[]];
    for (const field of this.fields) {
      const raw = pathValues(doc, field);
      let values: unknown[];
      if (raw.length === 0) values = [null];
      else
        values = raw.flatMap((v) => (Array.isArray(v) ? (v.length === 0 ? [undefined] : v) : [v]));
      const unique = dedupe(values);
      combos = combos.flatMap((c) => unique.map((v) => [...c, v]));
    }
    return combos.map((values) => ({ key: compoundKey(values), values }));
  }

  duplicateError(ns: string, values: unknown[]): CommandError {
    const keyValue: Document = {};
    this.fields.forEach((f, i) => (keyValue[f] = values[i] === undefined ? null : values[i]));
    const shown = this.fields.map((f, i) => `${f}: ${formatValue(values[i])}`).join(', ');
    return CommandError.of(
      'DuplicateKey',
      `E11000 duplicate key error collection: ${ns} index: ${this.name} dup key: { ${shown} }`,
      { keyPattern: { ...this.spec.key }, keyValue },
    );
  }

  /** Adds `doc`'s entries (committed state). */
  add(idKey: string, doc: Document): void {
    if (!this.unique) return;
    for (const { key } of this.keysOf(doc)) this.entries.set(key, idKey);
  }

  /** Removes `doc`'s entries if they still point at it. */
  remove(idKey: string, doc: Document): void {
    if (!this.unique) return;
    for (const { key } of this.keysOf(doc))
      if (this.entries.get(key) === idKey) this.entries.delete(key);
  }
}

function dedupe(values: unknown[]): unknown[] {
  const seen = new Set<string>();
  return values.filter((v) => {
    const k = compoundKey([v]);
    if (seen.has(k)) return false;
    seen.add(k);
    return true;
  });
}

/** Default index name: `a_1_b_-1`. */
export function defaultIndexName(key: Document): string {
  return Object.entries(key)
    .map(([k, v]) => `${k}_${String(v)}`)
    .join('_');
}

/** Validates a createIndexes entry into an IndexSpec. */
export function parseIndexSpec(raw: unknown): IndexSpec {
  if (!isPlainObject(raw) || !isPlainObject(raw.key) || Object.keys(raw.key).length === 0) {
    throw CommandError.of(
      'CannotCreateIndex',
      "Index specification must have a non-empty 'key' object",
    );
  }
  const key: Document = { ...raw.key };
  for (const [field, dir] of Object.entries(key)) {
    const ok =
      dir === 1 ||
      dir === -1 ||
      dir === 'text' ||
      dir === '2dsphere' ||
      dir === 'hashed' ||
      typeof dir === 'number';
    if (!ok)
      throw CommandError.of(
        'CannotCreateIndex',
        `Values in the index key pattern can only be numbers or strings; field ${field}`,
      );
  }
  const spec: IndexSpec = {
    v: 2,
    key,
    name: typeof raw.name === 'string' && raw.name.length > 0 ? raw.name : defaultIndexName(key),
  };
  if (raw.unique === true) spec.unique = true;
  if (raw.sparse === true) spec.sparse = true;
  if (raw.expireAfterSeconds !== undefined) {
    const secs = Number(raw.expireAfterSeconds);
    if (!Number.isFinite(secs) || secs < 0)
      throw CommandError.of(
        'CannotCreateIndex',
        'expireAfterSeconds must be a non-negative number',
      );
    if (Object.keys(key).length !== 1)
      throw CommandError.of(
        'CannotCreateIndex',
        'TTL indexes are single-field indexes, compound indexes do not support TTL',
      );
    spec.expireAfterSeconds = secs;
  }
  if (raw.partialFilterExpression !== undefined) {
    if (!isPlainObject(raw.partialFilterExpression))
      throw CommandError.of('CannotCreateIndex', 'partialFilterExpression must be an object');
    spec.partialFilterExpression = raw.partialFilterExpression;
  }
  return spec;
}

export function sameIndexOptions(a: IndexSpec, b: IndexSpec): boolean {
  const norm = (s: IndexSpec) =>
    JSON.stringify([
      s.key,
      !!s.unique,
      !!s.sparse,
      s.expireAfterSeconds ?? null,
      s.partialFilterExpression ?? null,
    ]);
  return norm(a) === norm(b);
}

export const ID_INDEX_SPEC: IndexSpec = { v: 2, key: { _id: 1 }, name: '_id_' };
