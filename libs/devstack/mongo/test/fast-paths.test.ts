/**
 * Differential tests of the fast paths against the general ones, in process (no wire):
 *
 * - update operators: query/fast-update.ts vs mingo (applyUpdate with `mingoOnly`);
 * - filters: query/simple-filter.ts vs a mingo Query (compileFilter with `mingoOnly`);
 * - sort: query/fast-sort.ts vs mingo's sort;
 * - index plans: storage/query-plan.ts vs a scan (matchingDocs with `plan: 'scan'`), over MVCC
 *   history: readers with older snapshots, transactions with their own inserts/updates/deletes.
 *
 * Inputs are random but seeded, so a failure is reproducible; each case prints its seed.
 */
import { BSON, Decimal128, type Document, Long, ObjectId } from 'bson';
import { matchingDocs } from '../src/commands/context';
import { CommandError } from '../src/errors';
import { cloneDoc } from '../src/query/documents';
import { fastUpdate } from '../src/query/fast-update';
import { applyUpdate, compileFilter, sortDocs } from '../src/query/mingo-adapter';
import { Engine } from '../src/storage/engine';
import { parseIndexSpec } from '../src/storage/index-catalog';
import { indexCandidates } from '../src/storage/query-plan';
import type { Transaction } from '../src/transactions/transaction';
import { seededRandom as rng } from '@trellis/platform/testing';
import { randomStep } from './support/mvcc-steps';

const bytes = (doc: Document) => Buffer.from(BSON.serialize(doc)).toString('hex');
const OIDS = Array.from({ length: 3 }, (_, i) => new ObjectId(`65f000000000000000000${i}00`));
const DATES = [new Date(1_700_000_000_000), new Date(1_700_000_500_000), new Date(0)];

describe('update fast path vs mingo', () => {
  const PATHS = ['a', 'b', 'n', 'c.d', 'c.e', 'x.y.z', 'arr', 'arr.k', 's'];
  function value(r: () => number, depth = 0): unknown {
    const pick = Math.floor(r() * (depth > 1 ? 10 : 13));
    switch (pick) {
      case 0:
        return Math.floor(r() * 5) - 2;
      case 1:
        return Math.round(r() * 100) / 4;
      case 2:
        return ['x', 'y', ''][Math.floor(r() * 3)];
      case 3:
        return null;
      case 4:
        return DATES[Math.floor(r() * DATES.length)];
      case 5:
        return OIDS[Math.floor(r() * OIDS.length)];
      case 6:
        return r() < 0.5;
      case 7:
        return Number.MAX_SAFE_INTEGER - Math.floor(r() * 3);
      case 8:
        return Decimal128.fromString(String(Math.floor(r() * 10)));
      case 9:
        return Long.fromString('9007199254740993');
      case 10:
        return { d: value(r, depth + 1), e: value(r, depth + 1) };
      case 11:
        return [value(r, depth + 1), { k: value(r, depth + 1) }];
      default:
        return { y: { z: value(r, depth + 1) } };
    }
  }
  function doc(r: () => number): Document {
    const d: Document = { _id: Math.floor(r() * 1000) };
    for (const f of ['a', 'b', 'n', 'c', 'x', 'arr', 's']) if (r() < 0.6) d[f] = value(r);
    if (r() < 0.3) d.n = Math.floor(r() * 10);
    return d;
  }
  function update(r: () => number): Document {
    const ops = ['$set', '$unset', '$inc', '$setOnInsert', '$min', '$max', '$currentDate'];
    const u: Document = {};
    const n = 1 + Math.floor(r() * 3);
    for (let i = 0; i < n; i++) {
      const op = ops[Math.floor(r() * ops.length)];
      const spec: Document = (u[op] as Document | undefined) ?? {};
      const path = PATHS[Math.floor(r() * PATHS.length)];
      if (op === '$inc')
        spec[path] = r() < 0.85 ? [1, -1, 0, 2.5, 1e15][Math.floor(r() * 5)] : value(r);
      else if (op === '$unset') spec[path] = '';
      else if (op === '$currentDate') spec[path] = r() < 0.8 ? true : { $type: 'timestamp' };
      else spec[path] = value(r);
      u[op] = spec;
    }
    return u;
  }
  /** `$currentDate` sets "now": both paths a few ms apart, so recent dates become a marker. */
  const recentDatesMarked = (v: unknown): unknown => {
    if (v instanceof Date) return v.getTime() > Date.now() - 60_000 ? 'NOW' : v;
    if (Array.isArray(v)) return v.map(recentDatesMarked);
    if (v && typeof v === 'object' && Object.getPrototypeOf(v) === Object.prototype)
      return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, recentDatesMarked(x)]));
    return v;
  };
  const stripDates = (d: Document) => bytes(recentDatesMarked(d) as Document);

  it('gives the same documents, BSON types and modified flags as mingo', () => {
    const seed = 20240611;
    const r = rng(seed);
    let fastUsed = 0;
    for (let i = 0; i < 4000; i++) {
      const before = doc(r);
      const u = update(r);
      const inserting = r() < 0.2;
      const snapshot = bytes(before);
      const fast = (() => {
        try {
          return fastUpdate(before, u, inserting);
        } catch (err) {
          return err as Error;
        }
      })();
      expect(bytes(before)).toBe(snapshot); // never mutates the stored version
      if (fast === null) continue;
      const slow = (() => {
        try {
          return applyUpdate(before, u, { inserting, mingoOnly: true });
        } catch (err) {
          return err as Error;
        }
      })();
      const where = `seed ${seed} case ${i}: ${JSON.stringify({ before, u, inserting })}`;
      if (fast instanceof Error) {
        // The one intended difference: $inc of a non-numeric field fails as on mongod (mingo
        // skipped it silently).
        expect([where, fast instanceof CommandError && fast.code]).toEqual([where, 14]);
        expect(fast.message).toMatch(/^Cannot apply \$inc to a value of non-numeric type/);
        continue;
      }
      fastUsed++;
      expect([where, slow instanceof Error ? slow.message : null]).toEqual([where, null]);
      const s = slow as { doc: Document; modified: boolean };
      if ('$currentDate' in u) {
        // Both set "now", a few ms apart.
        expect([where, stripDates(fast.doc)]).toEqual([where, stripDates(s.doc)]);
      } else {
        expect([where, bytes(fast.doc)]).toEqual([where, bytes(s.doc)]);
        expect([where, fast.modified]).toEqual([where, s.modified]);
      }
    }
    expect(fastUsed).toBeGreaterThan(1000);
  });

  it('keeps Int64-as-number, double and Decimal128 operands right', () => {
    const d = { _id: 1, big: Number.MAX_SAFE_INTEGER - 1, f: 1.5, dec: Decimal128.fromString('1') };
    expect(fastUpdate(d, { $inc: { big: 1, f: 1 } }, false)).toEqual({
      doc: { _id: 1, big: Number.MAX_SAFE_INTEGER, f: 2.5, dec: d.dec },
      modified: true,
    });
    // Past 2^53, a Long or a Decimal128 operand: mingo's business (unchanged behaviour).
    expect(fastUpdate(d, { $inc: { big: 2 } }, false)).toBeNull();
    expect(fastUpdate(d, { $inc: { dec: 1 } }, false)).toBeNull();
    expect(fastUpdate(d, { $set: { 'arr.0': 1 } }, false)).toBeNull();
    expect(fastUpdate(d, { $set: { _id: 1 } }, false)).toBeNull();
    expect(fastUpdate(d, { $set: { a: 1, 'a.b': 2 } }, false)).toBeNull();
    // No change → not modified; new fields appended in update order; _id stays first.
    expect(fastUpdate(d, { $set: { f: 1.5 }, $inc: { big: 0 } }, false)?.modified).toBe(false);
    expect(Object.keys(fastUpdate(d, { $set: { z: 1, y: 2 } }, false)!.doc)).toEqual([
      '_id',
      'big',
      'f',
      'dec',
      'z',
      'y',
    ]);
    expect(() => fastUpdate({ _id: 'k', n: 'x' }, { $inc: { n: 1 } }, false)).toThrow(
      `Cannot apply $inc to a value of non-numeric type. {_id: "k"} has the field 'n' of non-numeric type string`,
    );
  });
});

describe('simple filter matcher vs mingo', () => {
  function fieldValue(r: () => number, depth = 0): unknown {
    const pick = Math.floor(r() * (depth > 1 ? 9 : 12));
    switch (pick) {
      case 0:
        return Math.floor(r() * 4);
      case 1:
        return ['a', 'b', 'B', ''][Math.floor(r() * 4)];
      case 2:
        return DATES[Math.floor(r() * DATES.length)];
      case 3:
        return OIDS[Math.floor(r() * OIDS.length)];
      case 4:
        return r() < 0.5;
      case 5:
        return null;
      case 6:
        return NaN;
      case 7:
        return 1.5;
      case 8:
        return Decimal128.fromString('1');
      case 9:
        return [fieldValue(r, depth + 1), fieldValue(r, depth + 1)];
      case 10:
        return { b: fieldValue(r, depth + 1), c: fieldValue(r, depth + 1) };
      default:
        return [{ b: fieldValue(r, depth + 1) }, { c: 1 }, []];
    }
  }
  function scalar(r: () => number): unknown {
    const v = fieldValue(r, 5);
    return v === null || Number.isNaN(v) || v instanceof Decimal128 ? 1 : v;
  }
  function filter(r: () => number): Document {
    const f: Document = {};
    const paths = ['a', 'a.b', 'a.c', 'd', 'a.b.c'];
    const n = 1 + Math.floor(r() * 2);
    for (let i = 0; i < n; i++) {
      const path = paths[Math.floor(r() * paths.length)];
      const kind = Math.floor(r() * 8);
      if (kind === 5) f[path] = r() < 0.5 ? null : { $eq: null };
      else if (kind === 6) f[path] = { $exists: r() < 0.5 };
      else if (kind === 7)
        f[path] = { $exists: r() < 0.5, $ne: 1 }; // not a fast shape: mingo
      else if (kind === 0) f[path] = scalar(r);
      else if (kind === 1) f[path] = { $eq: scalar(r) };
      else if (kind === 2) f[path] = { $in: [scalar(r), scalar(r)] };
      else if (kind === 3) {
        const op = ['$lt', '$lte', '$gt', '$gte'][Math.floor(r() * 4)];
        f[path] = { [op]: [2, 'b', DATES[1]][Math.floor(r() * 3)] };
      } else f[path] = { $gte: 1, $lt: 3 };
    }
    return f;
  }

  it('matches exactly the documents a mingo Query matches', () => {
    const seed = 7;
    const r = rng(seed);
    // Fields are sometimes missing, for null equality and $exists.
    const docs = Array.from({ length: 300 }, (_, i) => ({
      _id: i,
      ...(r() < 0.8 && { a: fieldValue(r) }),
      ...(r() < 0.8 && { d: fieldValue(r) }),
    }));
    for (let i = 0; i < 400; i++) {
      const f = filter(r);
      const fast = compileFilter(f);
      const slow = compileFilter(f, true);
      const got = docs.filter((d) => fast(d)).map((d) => d._id);
      const want = docs.filter((d) => slow(d)).map((d) => d._id);
      expect([`seed ${seed} filter ${i}`, f, got]).toEqual([`seed ${seed} filter ${i}`, f, want]);
    }
  });
});

describe('fast sort vs mingo', () => {
  it('orders like mingo, ties in input order', () => {
    const r = rng(99);
    for (let i = 0; i < 200; i++) {
      const docs = Array.from({ length: 40 }, (_, j) => ({
        _id: j,
        p: Math.floor(r() * 3),
        s: ['a', 'b', 'B', 'ab'][Math.floor(r() * 4)],
        t: DATES[Math.floor(r() * 3)],
        o: OIDS[Math.floor(r() * 3)],
        m: r() < 0.1 ? null : 1, // sometimes not sortable fast → mingo both ways
      }));
      const fields = ['p', 's', 't', 'o', 'm', '_id'];
      const sort: Document = {};
      for (let k = 0; k < 3; k++)
        sort[fields[Math.floor(r() * fields.length)]] = r() < 0.5 ? 1 : -1;
      const fast = sortDocs(docs, sort).map((d) => d._id);
      const slow = sortDocs(docs, sort, true).map((d) => d._id);
      expect([sort, fast]).toEqual([sort, slow]);
    }
  });
});

describe('index plans vs scans', () => {
  const STATES = ['PENDING', 'RUNNING', 'DONE'];
  const TYPES = ['email', 'report', 'export'];

  function randomDoc(r: () => number, id: number): Document {
    const d: Document = {
      _id: id,
      state: STATES[Math.floor(r() * STATES.length)],
      type: TYPES[Math.floor(r() * TYPES.length)],
      priority: Math.floor(r() * 3),
      account: `acc${Math.floor(r() * 5)}`,
    };
    const t = r();
    if (t < 0.1) d.tags = ['x', 'y'];
    else if (t < 0.15)
      d.tags = [['x'], 'z']; // nested array: always a candidate
    else if (t < 0.2) d.tags = [];
    else if (t < 0.5) d.tags = ['x'];
    else if (t < 0.6) d.tags = null;
    if (r() < 0.1) delete d.state;
    if (r() < 0.05) d.state = ['PENDING', 'DONE'];
    if (r() < 0.3) d.meta = { k: Math.floor(r() * 3) };
    else if (r() < 0.1) d.meta = [{ k: 1 }, { k: 2 }];
    return d;
  }

  function randomFilter(r: () => number): Document {
    const f: Document = {};
    const pick = <T>(xs: T[]) => xs[Math.floor(r() * xs.length)];
    if (r() < 0.7) f.state = r() < 0.7 ? pick(STATES) : { $in: [pick(STATES), pick(STATES)] };
    if (r() < 0.5) f.type = r() < 0.5 ? pick(TYPES) : { $in: [pick(TYPES), 'none'] };
    if (r() < 0.3) f.priority = { $gte: 1 };
    if (r() < 0.3) f.account = pick(['acc1', 'acc2', 'nope']);
    if (r() < 0.2) f.tags = pick(['x', 'y', 'z']);
    if (r() < 0.2) f['meta.k'] = Math.floor(r() * 3);
    if (r() < 0.1) f.$or = [{ priority: 0 }, { type: 'email' }];
    return f;
  }

  function write(engine: Engine, tx: Transaction, r: () => number, nextId: () => number): void {
    const coll = engine.ensureCollection('db', 'jobs');
    const existing = [...tx.scan(coll)];
    const roll = r();
    if (roll < 0.4 || existing.length === 0) {
      tx.insert(coll, randomDoc(r, nextId()));
    } else {
      const victim = existing[Math.floor(r() * existing.length)];
      if (roll < 0.85) {
        const fresh = randomDoc(r, 0);
        fresh._id = victim._id;
        tx.replace(coll, fresh);
      } else tx.remove(coll, victim);
    }
  }

  it('finds exactly what a scan finds, in the same order, for any snapshot and own writes', () => {
    const seed = 4242;
    const r = rng(seed);
    const engine = new Engine();
    const coll = engine.ensureCollection('db', 'jobs');
    engine.createIndex(coll, parseIndexSpec({ key: { state: 1, type: 1, priority: -1, _id: 1 } }));
    engine.createIndex(coll, parseIndexSpec({ key: { account: 1 } }));
    engine.createIndex(coll, parseIndexSpec({ key: { tags: 1 } }));
    engine.createIndex(coll, parseIndexSpec({ key: { 'meta.k': 1 }, name: 'meta' }));
    // Not plannable: partial and sparse indexes must never be used for candidates.
    engine.createIndex(
      coll,
      parseIndexSpec({
        key: { type: 1 },
        name: 'partial',
        partialFilterExpression: { state: 'DONE' },
      }),
    );
    let id = 0;
    const nextId = () => ++id;
    // Some committed history first.
    for (let i = 0; i < 300; i++) {
      const unit = engine.begin(true);
      write(engine, unit, r, nextId);
      engine.commit(unit);
    }
    const open: Transaction[] = [];
    let planned = 0;
    for (let round = 0; round < 300; round++) {
      randomStep(engine, r, open, (unit) => write(engine, unit, r, nextId), {
        open: 0.15,
        end: 0.25,
        writeInTransaction: 0.5,
        maxOpen: 4,
      });
      const views = [...open, engine.begin(true)];
      for (const view of views) {
        for (let q = 0; q < 4; q++) {
          const f = randomFilter(r);
          const limit = r() < 0.3 ? 1 + Math.floor(r() * 5) : Infinity;
          if (indexCandidates(view, coll, f)) planned++;
          const got = matchingDocs(view, coll, f, limit).map((d) => d._id as number);
          const want = matchingDocs(view, coll, f, limit, 'scan').map((d) => d._id as number);
          expect([`seed ${seed} round ${round}`, f, limit, got]).toEqual([
            `seed ${seed} round ${round}`,
            f,
            limit,
            want,
          ]);
        }
      }
    }
    expect(planned).toBeGreaterThan(500);
  });

  it('drops postings of pruned versions once no snapshot needs them', () => {
    const engine = new Engine();
    const coll = engine.ensureCollection('db', 'c');
    engine.createIndex(coll, parseIndexSpec({ key: { s: 1 } }));
    const index = coll.indexes.get('s_1')!;
    const put = (doc: Document | null, id = 1) => {
      const unit = engine.begin(true);
      if (doc) unit.replace(coll, doc);
      else unit.remove(coll, { _id: id });
      engine.commit(unit);
    };
    put({ _id: 1, s: 'a' });
    const reader = engine.begin(false);
    put({ _id: 1, s: 'b' });
    // The old snapshot still sees s: 'a', so both postings stay.
    expect(index.postings.get('1\u0000sa')?.has('n1')).toBe(true);
    expect(matchingDocs(reader, coll, { s: 'a' }).map((d) => d.s)).toEqual(['a']);
    engine.commit(reader);
    expect(index.postings.has('1\u0000sa')).toBe(false);
    expect(index.postings.get('1\u0000sb')?.has('n1')).toBe(true);
    put(null);
    expect(index.postings.size).toBe(0);
    expect(coll.order.size).toBe(0);
    expect(cloneDoc(coll.docs.size)).toBe(0);
  });
});
