/**
 * A matcher for the commonest filter shapes without building a mingo Query: conditions on plain
 * field paths that are equality with a plain scalar (`{account_id: 'a1'}`, `{'meta.key': 5}`,
 * `{$eq: v}`), `$in` of plain scalars, `$lt`/`$lte`/`$gt`/`$gte` with a number, string or date
 * (`{run_at: {$lte: now}}`), equality with null (`{published_at: null}`: null or missing) and
 * `$exists` with a boolean (`{rev: {$exists: false}}`).
 *
 * Semantics are mongod's (and mingo's) for those shapes: equality follows a path through embedded
 * documents and arrays of embedded documents and matches when the value there, or an element of an
 * array there, equals the filter value; `$in` and comparisons look at the value or the elements of
 * an array value, and compare only values of the same type (type bracketing). Where the rules get
 * subtle (an array nested in an array, or `$in`/comparisons on a path through an array) the
 * document is handed to mingo (compiled on first need), so results are always mingo's.
 */
import { type Document, ObjectId } from 'bson';
import { isPlainObject } from './documents';

export type Matcher = (doc: Document) => boolean;

type Test = (stored: unknown) => boolean;

const NO = 0;
const YES = 1;
const ASK_MINGO = 2;

function plainScalarTest(v: unknown): Test | null {
  switch (typeof v) {
    case 'string':
    case 'boolean':
      return (x) => x === v;
    case 'number':
      return Number.isNaN(v) ? null : (x) => x === v;
    case 'object':
      if (v instanceof ObjectId) {
        const hex = v.toHexString();
        return (x) => x instanceof ObjectId && x.toHexString() === hex;
      }
      if (v instanceof Date && !Number.isNaN(v.getTime())) {
        const ms = v.getTime();
        return (x) => x instanceof Date && x.getTime() === ms;
      }
      return null;
    default:
      return null;
  }
}

const RANGE_OPS = new Set(['$lt', '$lte', '$gt', '$gte']);

function rangeTest(op: string, bound: unknown): Test | null {
  let key: ((x: unknown) => number | string | null) | null = null;
  let b: number | string;
  if (typeof bound === 'number' && !Number.isNaN(bound)) {
    b = bound;
    key = (x) => (typeof x === 'number' ? x : null);
  } else if (typeof bound === 'string') {
    b = bound;
    key = (x) => (typeof x === 'string' ? x : null);
  } else if (bound instanceof Date && !Number.isNaN(bound.getTime())) {
    b = bound.getTime();
    key = (x) => (x instanceof Date ? x.getTime() : null);
  } else {
    return null;
  }
  const k = key;
  // mingo compares with a three-way compare in which NaN (or an invalid date) ties with anything.
  const onNaN = op === '$lte' || op === '$gte';
  const cmp =
    op === '$lt'
      ? (v: number | string) => v < b
      : op === '$lte'
        ? (v: number | string) => v <= b
        : op === '$gt'
          ? (v: number | string) => v > b
          : (v: number | string) => v >= b;
  return (x) => {
    const v = k(x);
    if (v === null) return false;
    if (typeof v === 'number' && Number.isNaN(v)) return onNaN;
    return cmp(v);
  };
}

interface Condition {
  parts: string[];
  test: Test;
  /** Equality may follow the path through arrays; `$in` and comparisons leave that to mingo. */
  throughArrays: boolean;
  /** Set for a test of presence rather than of a value (arrays on the path are left to mingo). */
  presence?: Presence;
}

/** `$exists: true`, `$exists: false`, or equality with null (null or missing). */
type Presence = 'exists' | 'missing' | 'null or missing';

/** A missing path's value for presence tests (null and missing are different for `$exists`). */
const MISSING = Symbol('missing');

/** The conditions of one `field: value` entry, or null when the shape is not handled here. */
function conditionsOf(parts: string[], cond: unknown): Condition[] | null {
  const eq = plainScalarTest(cond);
  if (eq) return [{ parts, test: eq, throughArrays: true }];
  if (cond === null) return [nullEquality(parts)];
  if (!isPlainObject(cond)) return null;
  const keys = Object.keys(cond);
  if (keys.length === 0) return null;
  const out: Condition[] = [];
  for (const op of keys) {
    const operand: unknown = cond[op];
    let test: Test | null = null;
    let throughArrays = false;
    if (op === '$eq' && operand === null) {
      out.push(nullEquality(parts));
      continue;
    } else if (op === '$exists' && typeof operand === 'boolean') {
      const presence: Presence = operand ? 'exists' : 'missing';
      out.push({ parts, test: () => false, throughArrays: false, presence });
      continue;
    } else if (op === '$eq') {
      test = plainScalarTest(operand);
      throughArrays = true;
    } else if (op === '$in') {
      if (Array.isArray(operand) && operand.length > 0) {
        const tests = operand.map(plainScalarTest);
        if (tests.every((t) => t !== null)) {
          const all = tests as Test[];
          test = (x) => all.some((t) => t(x));
        }
      }
    } else if (RANGE_OPS.has(op)) {
      test = rangeTest(op, operand);
    }
    if (!test) return null;
    out.push({ parts, test, throughArrays });
  }
  return out;
}

/** `{path: null}`: the value there is null, or there is none. */
function nullEquality(parts: string[]): Condition {
  return { parts, test: () => false, throughArrays: false, presence: 'null or missing' };
}

/**
 * A presence test at `parts`: YES/NO, or ASK_MINGO when an array is on the path or is the value
 * (null equality matches an array holding null, `$exists` looks into arrays of documents).
 */
function presenceAt(doc: Document, parts: string[], presence: Presence): number {
  let value: unknown = doc;
  for (const part of parts) {
    if (Array.isArray(value)) return ASK_MINGO;
    if (!isPlainObject(value) || !Object.prototype.hasOwnProperty.call(value, part)) {
      value = MISSING;
      break;
    }
    value = value[part];
  }
  if (Array.isArray(value)) return ASK_MINGO;
  if (value === undefined) return ASK_MINGO; // BSON undefined: deprecated, left to mingo's rules
  const matches =
    presence === 'exists'
      ? value !== MISSING
      : presence === 'missing'
        ? value === MISSING
        : value === MISSING || value === null;
  return matches ? YES : NO;
}

function isPlainPath(path: string): string[] | null {
  const parts = path.split('.');
  for (const p of parts) if (p.length === 0 || p.startsWith('$') || /^\d+$/.test(p)) return null;
  return parts;
}

/**
 * A matcher for `filter` when every condition has one of the shapes above, else null. `mingo`
 * compiles the general matcher (used for the documents where the rules get subtle).
 */
export function simpleEqualityMatcher(filter: Document, mingo: () => Matcher): Matcher | null {
  const conds: Condition[] = [];
  for (const path of Object.keys(filter)) {
    const parts = isPlainPath(path);
    const more = parts ? conditionsOf(parts, filter[path]) : null;
    if (!more) return null;
    conds.push(...more);
  }
  if (conds.length === 0) return null;
  let general: Matcher | null = null;
  return (doc) => {
    for (const { parts, test, throughArrays, presence } of conds) {
      const r = presence
        ? presenceAt(doc, parts, presence)
        : matchAt(doc, parts, 0, test, throughArrays);
      if (r === YES) continue;
      if (r === ASK_MINGO) return (general ??= mingo())(doc);
      return false;
    }
    return true;
  };
}

function matchAt(
  value: unknown,
  parts: string[],
  i: number,
  test: Test,
  throughArrays: boolean,
): number {
  if (i === parts.length) {
    if (!Array.isArray(value)) return test(value) ? YES : NO;
    let found = NO;
    for (const el of value) {
      if (Array.isArray(el)) return ASK_MINGO;
      if (found === NO && test(el)) found = YES;
    }
    return found;
  }
  if (Array.isArray(value)) {
    if (!throughArrays) return ASK_MINGO;
    let found = NO;
    for (const el of value) {
      if (Array.isArray(el)) return ASK_MINGO;
      if (isPlainObject(el) && Object.prototype.hasOwnProperty.call(el, parts[i])) {
        const r = matchAt(el[parts[i]], parts, i + 1, test, true);
        if (r === ASK_MINGO) return ASK_MINGO;
        if (r === YES) found = YES;
      }
    }
    return found;
  }
  if (isPlainObject(value) && Object.prototype.hasOwnProperty.call(value, parts[i]))
    return matchAt(value[parts[i]], parts, i + 1, test, throughArrays);
  return NO;
}
