/**
 * The query planner (storage/query-plan.ts, storage/ordered-index.ts) against a full scan, in
 * process: random documents of mixed types (numbers, strings, dates, booleans, ObjectIds, null,
 * missing fields, multikey arrays, embedded documents) under compound, descending and unique
 * indexes, written through MVCC history (older snapshots, transactions with their own writes), and
 * random filters (equality, `$in`, ranges, `null`, `$or`, `$and`) with random sorts, skips and
 * limits. Planned and scanned answers must be the same documents in the same order. Then the plans
 * themselves: the Agenda lock query walks its index and stops, explain reports IXSCAN / OR /
 * COLLSCAN as mongod's queryPlanner.winningPlan does.
 *
 * Inputs are random but seeded, so a failure is reproducible; each case prints its seed.
 */
import { type Document, ObjectId } from 'bson';
import { matchingDocs } from '../src/commands/context';
import { sortDocs } from '../src/query/mingo-adapter';
import { Engine } from '../src/storage/engine';
import { parseIndexSpec } from '../src/storage/index-catalog';
import { planQuery } from '../src/storage/query-plan';
import type { Collection } from '../src/storage/collection';
import type { Transaction } from '../src/transactions/transaction';
import { compileFilter } from '../src/query/mingo-adapter';
import { seededRandom as rng } from '@trellis/platform/testing';
import { randomStep } from './support/mvcc-steps';

const NAMES = ['a', 'b', 'c'];
const OIDS = Array.from({ length: 3 }, (_, i) => new ObjectId(`65f000000000000000000${i}00`));
const DATES = [0, 1, 2, 3].map((i) => new Date(1_700_000_000_000 + i * 1000));

type Pick = <T>(xs: T[]) => T;

function randomValue(r: () => number, pick: Pick): unknown {
  const roll = r();
  if (roll < 0.3) return Math.floor(r() * 5) - 1;
  if (roll < 0.4) return Math.floor(r() * 5) + 0.5;
  if (roll < 0.55) return pick(NAMES);
  if (roll < 0.7) return pick(DATES);
  if (roll < 0.75) return r() < 0.5;
  if (roll < 0.8) return pick(OIDS);
  if (roll < 0.88) return null;
  if (roll < 0.94) return [Math.floor(r() * 4), pick(NAMES)];
  return { x: Math.floor(r() * 2) };
}

function randomDoc(r: () => number, id: number): Document {
  const pick: Pick = (xs) => xs[Math.floor(r() * xs.length)];
  const d: Document = { _id: id, seq: id };
  for (const f of ['a', 'b', 'c']) if (r() < 0.9) d[f] = randomValue(r, pick);
  // `d` only ever holds scalars of mixed types (or is missing), so its indexes are walked in order.
  if (r() < 0.85) {
    let v = randomValue(r, pick);
    while (
      Array.isArray(v) ||
      (v !== null && typeof v === 'object' && !(v instanceof Date) && !(v instanceof ObjectId))
    )
      v = randomValue(r, pick);
    d.d = v;
  }
  if (r() < 0.5) d.n = { v: randomValue(r, pick) };
  else if (r() < 0.1) d.n = [{ v: 1 }, { v: 2 }];
  return d;
}

function randomCond(r: () => number, pick: Pick): unknown {
  const roll = r();
  if (roll < 0.2) return randomValue(r, pick);
  if (roll < 0.3) return { $in: [randomValue(r, pick), randomValue(r, pick)] };
  if (roll < 0.4) return null;
  if (roll < 0.45) return { $eq: null };
  const ops = ['$gt', '$gte', '$lt', '$lte'];
  const bound = () => (r() < 0.5 ? Math.floor(r() * 5) - 1 : r() < 0.5 ? pick(DATES) : pick(NAMES));
  if (roll < 0.8) return { [pick(ops)]: bound() };
  if (roll < 0.9) return { $gte: Math.floor(r() * 3) - 1, $lt: Math.floor(r() * 3) + 1 };
  return { $ne: randomValue(r, pick) };
}

function randomFilter(r: () => number): Document {
  const pick: Pick = (xs) => xs[Math.floor(r() * xs.length)];
  const field = () => pick(['a', 'b', 'c', 'd', 'n.v', 'seq', '_id']);
  const conj = (): Document => {
    const f: Document = {};
    const n = Math.floor(r() * 3);
    for (let i = 0; i < n; i++) f[field()] = randomCond(r, pick);
    return f;
  };
  const f = conj();
  if (r() < 0.35) f.$or = Array.from({ length: 1 + Math.floor(r() * 3) }, conj);
  if (r() < 0.1) f.$and = [conj(), conj()];
  return f;
}

function randomSort(r: () => number): Document | undefined {
  const roll = r();
  const dir = () => (r() < 0.5 ? 1 : -1);
  if (roll < 0.3) return undefined;
  if (roll < 0.5) return { a: dir() };
  if (roll < 0.65) return { b: 1, c: -1 };
  if (roll < 0.75) return { b: -1, c: 1 };
  if (roll < 0.8) return { _id: dir() };
  if (roll < 0.85)
    return r() < 0.5 ? { d: dir() } : r() < 0.5 ? { d: 1, seq: 1 } : { d: -1, seq: -1 };
  return { seq: dir() };
}

function write(coll: Collection, tx: Transaction, r: () => number, nextId: () => number): void {
  const existing = [...tx.scan(coll)];
  const roll = r();
  if (roll < 0.45 || existing.length === 0) {
    tx.insert(coll, randomDoc(r, nextId()));
  } else {
    const victim = existing[Math.floor(r() * existing.length)];
    if (roll < 0.85) {
      const fresh = randomDoc(r, 0);
      fresh._id = victim._id;
      fresh.seq = victim.seq;
      tx.replace(coll, fresh);
    } else tx.remove(coll, victim);
  }
}

/** What a find answers: matches, sorted, skipped and limited (the caller's part of a plan). */
function answer(
  view: Transaction,
  coll: Collection,
  filter: Document,
  sort: Document | undefined,
  skip: number,
  limit: number,
  plan: 'auto' | 'scan',
): unknown[] {
  const top = sort && limit > 0 ? { sort, k: skip + limit } : undefined;
  const docs = matchingDocs(view, coll, filter, Infinity, plan, top);
  const sorted = sort ? sortDocs(docs, sort) : docs;
  return sorted.slice(skip, limit > 0 ? skip + limit : undefined).map((d) => d._id);
}

describe('query planner vs full scan', () => {
  it.each([1, 2, 3, 4])('answers random queries like a scan (seed %i)', (seed) => {
    const r = rng(seed);
    const engine = new Engine();
    const coll = engine.ensureCollection('db', 'c');
    engine.createIndex(coll, parseIndexSpec({ key: { a: 1 } }));
    engine.createIndex(coll, parseIndexSpec({ key: { b: 1, c: -1 } }));
    engine.createIndex(coll, parseIndexSpec({ key: { c: -1, a: 1, b: 1 } }));
    engine.createIndex(coll, parseIndexSpec({ key: { 'n.v': 1 } }));
    engine.createIndex(coll, parseIndexSpec({ key: { seq: 1 }, unique: true }));
    engine.createIndex(coll, parseIndexSpec({ key: { d: 1, seq: 1 } }));
    engine.createIndex(
      coll,
      parseIndexSpec({ key: { b: 1 }, name: 'sparse_b', sparse: true }), // never planned
    );
    let id = 0;
    const nextId = () => ++id;
    for (let i = 0; i < 200; i++) {
      const unit = engine.begin(true);
      write(coll, unit, r, nextId);
      engine.commit(unit);
    }
    const open: Transaction[] = [];
    let planned = 0;
    let walks = 0;
    for (let round = 0; round < 100; round++) {
      randomStep(engine, r, open, (unit) => write(coll, unit, r, nextId), {
        open: 0.15,
        end: 0.25,
        writeInTransaction: 0.5,
        maxOpen: 3,
      });
      for (const view of [...open, engine.begin(true)]) {
        for (let q = 0; q < 5; q++) {
          const filter = randomFilter(r);
          const sort = randomSort(r);
          const limit = r() < 0.6 ? 1 + Math.floor(r() * 4) : 0;
          const skip = r() < 0.2 ? 1 : 0;
          const top = sort && limit > 0 ? { sort, k: skip + limit } : undefined;
          const plan = planQuery(view, coll, filter, compileFilter(filter), top);
          if (plan) planned++;
          if (plan?.sortCovered) walks++;
          const got = answer(view, coll, filter, sort, skip, limit, 'auto');
          const want = answer(view, coll, filter, sort, skip, limit, 'scan');
          expect([`seed ${seed} round ${round}`, filter, sort, skip, limit, got]).toEqual([
            `seed ${seed} round ${round}`,
            filter,
            sort,
            skip,
            limit,
            want,
          ]);
        }
      }
    }
    expect(planned).toBeGreaterThan(150);
    expect(walks).toBeGreaterThan(15);
  });
});

/** Agenda's lock query (agenda 5 `JobDbRepository.getNextJobToRun`) and its index. */
const AGENDA_INDEX = { name: 1, nextRunAt: 1, priority: -1, lockedAt: 1, disabled: 1 };
function agendaQuery(now: Date, lockDeadline: Date): Document {
  return {
    name: 'work',
    disabled: { $ne: true },
    $or: [
      { lockedAt: { $eq: null }, nextRunAt: { $lte: now } },
      { lockedAt: { $lte: lockDeadline } },
    ],
  };
}
const AGENDA_SORT = { nextRunAt: 1, priority: -1 };

describe('plans', () => {
  it('claims the next Agenda job by walking its index, stopping after the first match and its ties', () => {
    const engine = new Engine();
    const coll = engine.ensureCollection('db', 'agendaJobs');
    engine.createIndex(
      coll,
      parseIndexSpec({ key: AGENDA_INDEX, name: 'findAndLockNextJobIndex' }),
    );
    const t0 = 1_700_000_000_000;
    const unit = engine.begin(true);
    for (let i = 0; i < 2000; i++)
      unit.insert(coll, {
        _id: i,
        name: i % 10 === 0 ? 'other' : 'work',
        priority: i % 3,
        nextRunAt: i % 4 === 0 ? null : new Date(t0 + i * 1000), // completed jobs have none
        lockedAt: i % 7 === 0 ? new Date(t0 - 3_600_000) : null, // expired locks
        ...(i % 11 === 0 ? { disabled: true } : {}),
      });
    engine.commit(unit);
    const now = new Date(t0 + 1_000_000);
    const filter = agendaQuery(now, new Date(t0 - 600_000));
    const top = { sort: AGENDA_SORT, k: 1 };
    const view = engine.begin(true);
    const plan = planQuery(view, coll, filter, compileFilter(filter), top);
    expect(plan).toMatchObject({
      sortCovered: true,
      stage: { stage: 'IXSCAN', indexName: 'findAndLockNextJobIndex', direction: 'forward' },
    });
    expect(plan!.keys.length).toBeLessThan(50); // the first match and its ties, of 2,000
    const got = sortDocs(matchingDocs(view, coll, filter, Infinity, 'auto', top), AGENDA_SORT)[0];
    const want = sortDocs(matchingDocs(view, coll, filter, Infinity, 'scan'), AGENDA_SORT)[0];
    expect(got).toEqual(want);
    // An $or of indexable branches: the union of each branch's index scan, then the matcher.
    const or = {
      $or: [
        { name: 'other', nextRunAt: null },
        { name: 'work', nextRunAt: { $lte: new Date(t0 + 20_000) } },
      ],
    };
    const orPlan = planQuery(view, coll, or, compileFilter(or));
    expect(orPlan?.stage).toMatchObject({
      stage: 'OR',
      inputStages: [{ stage: 'IXSCAN' }, { stage: 'IXSCAN' }],
    });
    expect(orPlan!.keys.length).toBeLessThan(150); // 100 + 15 of 2,000
    expect(matchingDocs(view, coll, or)).toEqual(matchingDocs(view, coll, or, Infinity, 'scan'));
  });

  it('keeps ordered entries right through updates, deletes and pruning', () => {
    const engine = new Engine();
    const coll = engine.ensureCollection('db', 'c');
    engine.createIndex(coll, parseIndexSpec({ key: { s: 1, t: -1 } }));
    const entries = coll.indexes.get('s_1_t_-1')!.ordered!;
    const put = (doc: Document | null) => {
      const unit = engine.begin(true);
      if (doc) unit.replace(coll, doc);
      else unit.remove(coll, { _id: 1 });
      engine.commit(unit);
    };
    put({ _id: 1, s: 'a', t: 1 });
    const reader = engine.begin(false);
    put({ _id: 1, s: 'a', t: [1, 2] }); // multikey: irregular
    put({ _id: 1, s: 'b' }); // missing t: null in the index
    expect(entries.tree.size()).toBe(2); // s:a,t:1 (the reader's) and s:b,t:null
    expect(entries.irregular.has('n1')).toBe(true);
    expect(matchingDocs(reader, coll, { s: { $lte: 'a' } }).map((d) => d.t)).toEqual([1]);
    engine.commit(reader);
    expect(entries.tree.size()).toBe(1);
    expect(entries.irregular.size).toBe(0);
    expect(
      matchingDocs(engine.begin(true), coll, { s: 'b', t: null }, Infinity, 'auto', {
        sort: { t: -1 },
        k: 1,
      }).map((d) => d.s),
    ).toEqual(['b']);
    put(null);
    expect(entries.tree.size()).toBe(0);
  });
});
