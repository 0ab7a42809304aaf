/**
 * Index maintenance skips the indexes a write leaves alone (Index.sameEntries): an update shares
 * its untouched fields with the previous version, so those indexes keep their entries. These tests
 * check that every index still holds exactly what a rebuild over the kept MVCC versions would hold
 * (unique entries, postings, ordered entries, irregular documents) after random updates that touch
 * key fields, partial-filter fields or neither, in and out of transactions, with commits, aborts and
 * old snapshots keeping history alive; and that queries and duplicate-key checks see the change.
 */
import type { Document } from 'bson';
import { matchingDocs } from '../src/commands/context';
import { applyUpdate } from '../src/query/mingo-adapter';
import type { Collection } from '../src/storage/collection';
import { Engine } from '../src/storage/engine';
import { Index, parseIndexSpec } from '../src/storage/index-catalog';
import type { Transaction } from '../src/transactions/transaction';
import { seededRandom as rng } from '@trellis/platform/testing';
import { randomStep } from './support/mvcc-steps';

function contents(index: Index): unknown {
  const postings = [...index.postings].map(([k, ids]) => [k, [...ids].sort()]).sort();
  const ordered: unknown[] = [];
  index.ordered?.tree.forEach((entry) => void ordered.push(entry));
  return {
    entries: [...index.entries].sort(),
    postings,
    ordered,
    irregular: [...(index.ordered?.irregular ?? [])].sort(),
  };
}

/** Every index of `coll` holds what a fresh build over the kept versions holds. */
function expectExact(coll: Collection, label: string): void {
  for (const index of coll.indexes.values()) {
    const fresh = new Index(index.spec);
    for (const [key, chain] of coll.docs) {
      for (const v of chain) if (v.doc) fresh.addPostings(key, v.doc);
      const latest = chain[chain.length - 1].doc;
      if (latest) fresh.add(key, latest);
    }
    expect([label, index.name, contents(index)]).toEqual([label, index.name, contents(fresh)]);
  }
}

function setup(): { engine: Engine; coll: Collection } {
  const engine = new Engine();
  const coll = engine.ensureCollection('db', 'jobs');
  const specs: Document[] = [
    { key: { state: 1, type: 1, run_at: 1 }, name: 'claim' },
    { key: { state: 1, lease: 1 }, name: 'leases' },
    { key: { created: -1, _id: -1 }, name: 'newest' },
    { key: { 'meta.k': 1 }, name: 'meta' },
    { key: { tags: 1 }, name: 'tags' },
    { key: { type: 1 }, name: 'sparse_type', sparse: true },
    // Key and partial filter on different fields: touching only `p` must still update it.
    {
      key: { u: 1 },
      name: 'u_unique',
      unique: true,
      partialFilterExpression: { p: { $type: 'string' } },
    },
  ];
  for (const spec of specs) engine.createIndex(coll, parseIndexSpec(spec));
  return { engine, coll };
}

const STATES = ['PENDING', 'RUNNING', 'DONE'];

function randomUpdate(r: () => number, id: number): Document {
  const pick = <T>(xs: T[]): T => xs[Math.floor(r() * xs.length)];
  const $set: Document = {};
  const $unset: Document = {};
  const roll = r();
  if (roll < 0.35) $set.state = pick(STATES);
  if (r() < 0.3) $set.lease = r() < 0.5 ? new Date(1_700_000_000_000 + id) : Math.floor(r() * 4);
  if (r() < 0.2) $unset.lease = '';
  if (r() < 0.15) $set['meta.k'] = Math.floor(r() * 3);
  if (r() < 0.1) $set.tags = r() < 0.5 ? ['x', 'y'] : [['x'], 'z'];
  if (r() < 0.1) $set.type = pick(['a', 'b']);
  if (r() < 0.1) $unset.type = '';
  if (r() < 0.15) $set.p = r() < 0.5 ? 'yes' : 1;
  if (r() < 0.1) $set.u = `u${id}`;
  $set.attempts = Math.floor(r() * 100); // an unindexed field: every update touches something
  delete $unset[Object.keys($set).find((k) => k in $unset) ?? ''];
  return Object.keys($unset).length > 0 ? { $set, $unset } : { $set };
}

function newDoc(r: () => number, id: number): Document {
  return {
    _id: id,
    state: STATES[Math.floor(r() * 3)],
    type: r() < 0.5 ? 'a' : 'b',
    run_at: new Date(1_700_000_000_000 + Math.floor(r() * 10) * 1000),
    created: id,
    meta: { k: id % 3 },
    ...(r() < 0.5 ? { p: 'yes', u: `u${id}` } : {}),
  };
}

/** One write in `tx`: an insert, a delete or (mostly) an update through the update path. */
function write(coll: Collection, tx: Transaction, r: () => number, nextId: () => number): void {
  const existing = [...tx.scan(coll)];
  const roll = r();
  if (roll < 0.2 || existing.length === 0) tx.insert(coll, newDoc(r, nextId()));
  else {
    const victim = existing[Math.floor(r() * existing.length)];
    if (roll < 0.9) {
      const outcome = applyUpdate(victim, randomUpdate(r, victim._id as number), {});
      if (outcome.modified) tx.replace(coll, outcome.doc);
    } else tx.remove(coll, victim);
  }
}

describe('index maintenance of updates', () => {
  it.each([1, 2, 3])('keeps every index exact under random updates (seed %i)', (seed) => {
    const r = rng(seed);
    const { engine, coll } = setup();
    let id = 0;
    const nextId = () => ++id;
    const open: Transaction[] = [];
    for (let round = 0; round < 300; round++) {
      randomStep(engine, r, open, (unit) => write(coll, unit, r, nextId), {
        open: 0.1,
        end: 0.2,
        writeInTransaction: 0.45,
        maxOpen: 3,
      });
      expectExact(coll, `seed ${seed} round ${round}`);
    }
    for (const tx of open) engine.commit(tx);
    expectExact(coll, `seed ${seed} end`);
  });

  function update(engine: Engine, coll: Collection, tx: Transaction | null, u: Document): void {
    const unit = tx ?? engine.begin(true);
    const current = unit.get(coll, 'n1')!;
    unit.replace(coll, applyUpdate(current, u, {}).doc);
    if (!tx) engine.commit(unit);
  }

  const states = (view: Transaction, coll: Collection, state: string) =>
    matchingDocs(view, coll, { state }).map((d) => d._id as number);

  it('updates a touched index and leaves the others, outside transactions', () => {
    const { engine, coll } = setup();
    const unit = engine.begin(true);
    unit.insert(coll, newDoc(rng(1), 1));
    engine.commit(unit);
    const claim = coll.indexes.get('claim')!;
    const newest = coll.indexes.get('newest')!;
    const untouched = contents(newest);
    update(engine, coll, null, { $set: { state: 'RUNNING', attempts: 1 } });
    expect(states(engine.begin(true), coll, 'RUNNING')).toEqual([1]);
    expect(claim.postings.get('1\u0000sRUNNING')).toEqual(new Set(['n1']));
    expect(contents(newest)).toEqual(untouched);
    update(engine, coll, null, { $set: { attempts: 2 } });
    update(engine, coll, null, { $set: { state: 'DONE' } });
    expect(states(engine.begin(true), coll, 'RUNNING')).toEqual([]);
    expect(states(engine.begin(true), coll, 'DONE')).toEqual([1]);
    expectExact(coll, 'outside');
  });

  it('updates a touched index inside a transaction, at commit, and keeps it on abort', () => {
    const { engine, coll } = setup();
    const unit = engine.begin(true);
    unit.insert(coll, { ...newDoc(rng(1), 1), state: 'PENDING' });
    engine.commit(unit);
    const before = coll.indexes.get('claim')!;
    const snapshot = contents(before);

    const aborted = engine.begin(false);
    update(engine, coll, aborted, { $set: { state: 'RUNNING' } });
    expect(states(aborted, coll, 'RUNNING')).toEqual([1]);
    expect(states(engine.begin(true), coll, 'RUNNING')).toEqual([]);
    engine.abort(aborted, 'test');
    expect(contents(before)).toEqual(snapshot);
    expect(states(engine.begin(true), coll, 'PENDING')).toEqual([1]);

    const reader = engine.begin(false);
    const tx = engine.begin(false);
    update(engine, coll, tx, { $set: { attempts: 1 } }); // untouched indexes only
    update(engine, coll, tx, { $set: { state: 'RUNNING' } }); // then a key changes
    engine.commit(tx);
    expect(states(engine.begin(true), coll, 'RUNNING')).toEqual([1]);
    expect(states(reader, coll, 'PENDING')).toEqual([1]); // the old snapshot still finds it
    expectExact(coll, 'history kept');
    engine.commit(reader);
    expect(states(engine.begin(true), coll, 'PENDING')).toEqual([]);
    expectExact(coll, 'history pruned');
  });

  it('maintains a partial unique index when only its filter field changes', () => {
    const { engine, coll } = setup();
    const unit = engine.begin(true);
    unit.insert(coll, { _id: 1, u: 'k', p: 1 });
    unit.insert(coll, { _id: 2, u: 'k', p: 'yes' });
    engine.commit(unit);
    // Doc 1 enters the partial index with the key doc 2 holds: duplicate.
    expect(() => update(engine, coll, null, { $set: { p: 'yes' } })).toThrow(/E11000/);
    const other = engine.begin(true);
    other.replace(coll, applyUpdate(other.get(coll, 'n2')!, { $set: { p: 2 } }, {}).doc);
    engine.commit(other);
    update(engine, coll, null, { $set: { p: 'yes' } });
    expect(coll.indexes.get('u_unique')!.entries).toEqual(new Map([['sk', 'n1']]));
    expectExact(coll, 'partial');
  });
});
