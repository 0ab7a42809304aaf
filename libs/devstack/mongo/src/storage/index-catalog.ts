/**
 * Index definitions of one collection, the entry map of each unique index, and query postings.
 *
 * Unique indexes keep `entries` (key → the `_id` key of the document holding it); they answer
 * "would this write duplicate a key?" and always describe the latest committed state; transactions
 * check their own writes on top (see transactions/transaction.ts).
 *
 * Plain ascending/descending indexes without a partial filter or `sparse` also keep `postings`,
 * which query plans use (commands/context.ts): for each prefix of up to POSTING_LEVELS leading
 * fields, the combination of value keys → the `_id` keys of documents having it (several per
 * document when multikey). Postings are a SUPERSET: they hold the entries of every version still
 * kept in the collection's MVCC chains (added on install, removed when a version is pruned and no
 * kept version of the same document has the entry), so a reader at any live snapshot finds every
 * document that could match among the candidates. Documents whose indexed path runs into an array
 * nested in an array (where matching rules get subtle) are filed under IRREGULAR and are always
 * candidates. Plans still run the full matcher on every candidate.
 */
import type { Document } from 'bson';
import { CommandError } from '../errors';
import { formatValue, isPlainObject, pathValues } from '../query/documents';
import { compileFilter, type Matcher } from '../query/mingo-adapter';
import { compoundKey, valueKey } from './keys';
import { OrderedEntries } from './ordered-index';

/** How many leading fields query postings cover (equality prefixes longer than this are filtered). */
export const POSTING_LEVELS = 3;
/** The postings key of documents that are candidates for every lookup (see header). */
export const IRREGULAR = '*';

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
  /** Query postings (see header); only when `plannable`. */
  readonly postings = new Map<string, Set<string>>();
  /** Whether query plans may take candidates from this index. */
  readonly plannable: boolean;
  /** Leading fields covered by postings. */
  readonly levels: number;
  /** Entries in key order for range, `$or` and sorted plans (plannable indexes and `_id`). */
  readonly ordered: OrderedEntries | null;
  private readonly fieldParts: string[][];
  /**
   * Top-level fields whose values decide this index's entries (key fields and partial filter
   * fields), or null when that cannot be told (then every write recomputes the entries).
   */
  private readonly inputs: string[] | null;

  constructor(readonly spec: IndexSpec) {
    this.fields = Object.keys(spec.key);
    this.inputs = indexInputs(this.fields, spec.partialFilterExpression);
    this.partial = spec.partialFilterExpression
      ? compileFilter(spec.partialFilterExpression)
      : null;
    this.fieldParts = this.fields.map((f) => f.split('.'));
    this.plannable =
      !this.partial &&
      !spec.sparse &&
      !(this.fields.length === 1 && this.fields[0] === '_id') &&
      Object.values(spec.key).every((dir) => dir === 1 || dir === -1) &&
      this.fieldParts.every((parts) =>
        parts.every((p) => p.length > 0 && !p.startsWith('$') && !/^\d+$/.test(p)),
      );
    this.levels = this.plannable ? Math.min(this.fields.length, POSTING_LEVELS) : 0;
    const isId = this.fields.length === 1 && this.fields[0] === '_id';
    this.ordered =
      this.plannable || isId
        ? new OrderedEntries(
            this.fields,
            this.fields.map((f) => (spec.key[f] === -1 ? -1 : 1)),
          )
        : null;
  }

  get name(): string {
    return this.spec.name;
  }

  get unique(): boolean {
    return this.spec.unique === true;
  }

  /**
   * Whether versions `a` and `b` of a document certainly have the same entries here (unique
   * entries, postings, ordered entries): every input field is absent from both or holds the same
   * value or object. Stored versions are immutable and an update shares the fields it does not
   * touch with the previous version (query/fast-update.ts), so a write that leaves this index's
   * fields alone skips its maintenance. False means "maybe different", never wrong.
   */
  sameEntries(a: Document, b: Document): boolean {
    const inputs = this.inputs;
    if (!inputs) return false;
    for (let i = 0; i < inputs.length; i++) {
      const f = inputs[i];
      const inA = Object.prototype.hasOwnProperty.call(a, f);
      if (inA !== Object.prototype.hasOwnProperty.call(b, f) || (inA && a[f] !== b[f]))
        return false;
    }
    return true;
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

  /**
   * Postings keys of `doc`: `L\0k1\0...\0kL` for each prefix length L ≤ levels and each
   * combination of the leading fields' value keys, plus IRREGULAR when a path meets nested arrays.
   * Missing fields and empty arrays give the null key `z` (plans never look it up).
   */
  postingKeysOf(doc: Document): string[] {
    // Common case first: every leading path meets no array, one value key per field.
    const out: string[] = [];
    let prefix = '';
    for (let f = 0; f < this.levels; f++) {
      const k = scalarKey(doc, this.fieldParts[f]);
      if (k === null) return this.multikeyPostingKeysOf(doc);
      prefix += `\u0000${k}`;
      out.push(`${f + 1}${prefix}`);
    }
    return out;
  }

  private multikeyPostingKeysOf(doc: Document): string[] {
    const out: string[] = [];
    let prefixes = [''];
    let irregular = false;
    for (let f = 0; f < this.levels; f++) {
      const keys = new Set<string>();
      if (collectKeys(doc, this.fieldParts[f], 0, keys)) irregular = true;
      if (keys.size === 0) keys.add('z');
      const next: string[] = [];
      for (const p of prefixes) for (const k of keys) next.push(`${p}\u0000${k}`);
      prefixes = next;
      for (const p of prefixes) out.push(`${f + 1}${p}`);
    }
    if (irregular) out.push(IRREGULAR);
    return out;
  }

  /** Adds the postings and ordered entry of a newly installed version. */
  addPostings(idKey: string, doc: Document): void {
    this.ordered?.add(idKey, doc);
    if (!this.plannable) return;
    for (const k of this.postingKeysOf(doc)) {
      const ids = this.postings.get(k);
      if (ids) ids.add(idKey);
      else this.postings.set(k, new Set([idKey]));
    }
  }

  /** Removes the postings of pruned versions that no kept version of the document still has. */
  removePostings(idKey: string, pruned: Document[], kept: Document[]): void {
    // A pruned version with the same entries as a kept one has nothing to remove.
    const dropped = pruned.filter((doc) => !kept.some((k) => this.sameEntries(doc, k)));
    if (dropped.length === 0) return;
    this.ordered?.remove(idKey, dropped, kept);
    if (!this.plannable) return;
    const keep = new Set<string>();
    for (const doc of kept) for (const k of this.postingKeysOf(doc)) keep.add(k);
    for (const doc of dropped) {
      for (const k of this.postingKeysOf(doc)) {
        if (keep.has(k)) continue;
        const ids = this.postings.get(k);
        if (!ids) continue;
        ids.delete(idKey);
        if (ids.size === 0) this.postings.delete(k);
      }
    }
  }
}

/**
 * The one value key at path `parts` of `doc` (`z` when missing, as collectKeys gives), or null
 * when the path meets an array (then collectKeys decides).
 */
function scalarKey(doc: Document, parts: string[]): string | null {
  let v: unknown = doc;
  for (const p of parts) {
    if (Array.isArray(v)) return null;
    if (!isPlainObject(v) || !Object.prototype.hasOwnProperty.call(v, p)) return 'z';
    v = v[p];
  }
  return Array.isArray(v) ? null : valueKey(v);
}

/**
 * Adds the value keys at path `parts[i..]` of `value` (arrays traversed element-wise, leaf arrays
 * contribute their elements) to `out`; returns true when an array holding an array was met.
 */
function collectKeys(value: unknown, parts: string[], i: number, out: Set<string>): boolean {
  if (i === parts.length) {
    if (!Array.isArray(value)) {
      out.add(valueKey(value));
      return false;
    }
    let irregular = false;
    for (const el of value) {
      if (Array.isArray(el)) irregular = true;
      else out.add(valueKey(el));
    }
    return irregular;
  }
  if (Array.isArray(value)) {
    let irregular = false;
    for (const el of value) {
      if (Array.isArray(el)) irregular = true;
      else if (isPlainObject(el) && Object.prototype.hasOwnProperty.call(el, parts[i]))
        irregular = collectKeys(el[parts[i]], parts, i + 1, out) || irregular;
    }
    return irregular;
  }
  if (isPlainObject(value) && Object.prototype.hasOwnProperty.call(value, parts[i]))
    return collectKeys(value[parts[i]], parts, i + 1, out);
  return false;
}

/**
 * The top-level fields an index's entries depend on: the first segment of every key field and of
 * every field in the partial filter (`$and` / `$or` of field conditions, as checkPartialFilter
 * allows); null when the filter has another shape.
 */
function indexInputs(fields: string[], partial: Document | undefined): string[] | null {
  const out = new Set(fields.map((f) => f.split('.')[0]));
  const walk = (filter: Document): boolean => {
    for (const [field, value] of Object.entries(filter)) {
      if (field === '$and' || field === '$or') {
        if (!Array.isArray(value)) return false;
        for (const clause of value as unknown[])
          if (!isPlainObject(clause) || !walk(clause)) return false;
      } else if (field.startsWith('$')) return false;
      else out.add(field.split('.')[0]);
    }
    return true;
  };
  return partial && !walk(partial) ? null : [...out];
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

/** Text and geo indexes need their query operators, which are not implemented (refused too). */
const UNSUPPORTED_INDEX_TYPES = new Set(['text', '2d', '2dsphere', 'geoHaystack']);

/** Index options that would otherwise be accepted and silently ignored. */
const UNSUPPORTED_INDEX_OPTIONS = [
  'hidden',
  'weights',
  'default_language',
  'language_override',
  'textIndexVersion',
  '2dsphereIndexVersion',
  'bits',
  'min',
  'max',
  'wildcardProjection',
];

/** Operators mongod allows in a partialFilterExpression (besides top-level $and / $or). */
const PARTIAL_FILTER_OPERATORS = new Set([
  '$eq',
  '$exists',
  '$gt',
  '$gte',
  '$lt',
  '$lte',
  '$type',
  '$in',
]);

/** mongod refuses partial filters it cannot use to pick documents (SERVER-17853 and friends). */
function checkPartialFilter(filter: Document, depth = 0): void {
  const refuse = (what: string): never => {
    throw CommandError.of(
      'CannotCreateIndex',
      `Expression not supported in partial index: ${what}`,
    );
  };
  for (const [field, value] of Object.entries(filter)) {
    if (field === '$and' || field === '$or') {
      if (!Array.isArray(value) || depth > 1) refuse(field);
      for (const clause of value as unknown[]) {
        if (!isPlainObject(clause)) refuse(field);
        checkPartialFilter(clause as Document, depth + 1);
      }
      continue;
    }
    if (field.startsWith('$')) refuse(field);
    if (!isPlainObject(value) || !Object.keys(value).some((k) => k.startsWith('$'))) continue;
    for (const [op, arg] of Object.entries(value)) {
      if (!PARTIAL_FILTER_OPERATORS.has(op)) refuse(`${field} ${op}`);
      if (op === '$exists' && arg !== true && arg !== 1) refuse(`${field} $exists: false`);
    }
  }
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
    if (typeof dir === 'string' && UNSUPPORTED_INDEX_TYPES.has(dir))
      throw CommandError.of(
        'CannotCreateIndex',
        `index type '${dir}' (field ${field}) is not supported by the devstack MongoDB server`,
      );
    if (field === '$**' || field.endsWith('.$**'))
      throw CommandError.of(
        'CannotCreateIndex',
        'wildcard indexes are not supported by the devstack MongoDB server',
      );
    const ok = dir === 'hashed' || typeof dir === 'number';
    if (!ok)
      throw CommandError.of(
        'CannotCreateIndex',
        `Values in the index key pattern can only be numbers or strings; field ${field}`,
      );
  }
  for (const option of UNSUPPORTED_INDEX_OPTIONS) {
    if (raw[option] !== undefined && raw[option] !== false)
      throw CommandError.of(
        'CannotCreateIndex',
        `index option '${option}' is not supported by the devstack MongoDB server`,
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
    checkPartialFilter(raw.partialFilterExpression);
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
