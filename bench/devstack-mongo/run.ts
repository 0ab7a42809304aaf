/**
 * Devstack MongoDB throughput with the official driver: insertOne, findOne by _id, updateOne,
 * committed 2-document transactions, and service-like cases (two updates by _id in a transaction,
 * find by a non-_id indexed field, the job claim query), each at 1 and 32 operations in flight.
 * Prints ops/s and p50/p99 latency and the load average; asserts nothing.
 *
 *   npx tsx bench/devstack-mongo/run.ts                 # memory-only server
 *   npx tsx bench/devstack-mongo/run.ts --journal       # journaled server (fsync policy: interval)
 *   MONGODB_URI=mongodb://... npx tsx bench/devstack-mongo/run.ts   # any other server
 *
 *   BENCH_SECONDS=3                  seconds per case
 *   BENCH_CASES=claim,indexed        only cases whose name contains one of these
 *   BENCH_SERVER_ROOT=/tmp/dm-base   run the server from another checkout (before/after figures)
 *   BENCH_PROFILE_DIR=/tmp/prof      write a CPU profile of the server process there
 *
 * The devstack server runs in a child process (as under `npm start`), so the driver and the server
 * do not share an event loop.
 */
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { MongoClient, ObjectId } from 'mongodb';
import { percentile } from '../support/percentile';
import { spawnMongo } from '../support/spawn-mongo';

const ROOT = join(__dirname, '../..');
const SECONDS_PER_CASE = Number(process.env.BENCH_SECONDS ?? 3);
const SEED_DOCS = 10_000;
/** Documents in the collections of the indexed-query cases (most jobs are not PENDING). */
const QUERY_DOCS = 20_000;
const JOB_TYPES = ['email', 'report', 'export', 'import', 'webhook', 'cleanup'];
const SERVER_ROOT = process.env.BENCH_SERVER_ROOT ?? ROOT;
const ONLY = (process.env.BENCH_CASES ?? '')
  .split(',')
  .map((s) => s.trim())
  .filter(Boolean);

interface Result {
  name: string;
  inFlight: number;
  ops: number;
  seconds: number;
  p50: number;
  p99: number;
  retries: number;
}

async function measure(
  name: string,
  inFlight: number,
  op: (worker: number) => Promise<number | void>,
): Promise<Result> {
  // Warm-up.
  const warmUntil = Date.now() + 300;
  await Promise.all(
    Array.from({ length: inFlight }, async (_, w) => {
      while (Date.now() < warmUntil) await op(w);
    }),
  );
  const latencies: number[] = [];
  let retries = 0;
  const start = process.hrtime.bigint();
  const until = Date.now() + SECONDS_PER_CASE * 1000;
  await Promise.all(
    Array.from({ length: inFlight }, async (_, w) => {
      while (Date.now() < until) {
        const t0 = process.hrtime.bigint();
        const extra = await op(w);
        latencies.push(Number(process.hrtime.bigint() - t0) / 1e6);
        if (typeof extra === 'number') retries += extra;
      }
    }),
  );
  const seconds = Number(process.hrtime.bigint() - start) / 1e9;
  latencies.sort((a, b) => a - b);
  return {
    name,
    inFlight,
    ops: latencies.length,
    seconds,
    p50: percentile(latencies, 50),
    p99: percentile(latencies, 99),
    retries,
  };
}

async function main(): Promise<void> {
  const journal = process.argv.includes('--journal');
  const external = process.env.MONGODB_URI;
  const server = external
    ? null
    : await spawnMongo({
        journal,
        serverRoot: process.env.BENCH_SERVER_ROOT,
        profileDir: process.env.BENCH_PROFILE_DIR,
      });
  const uri = external ?? server!.uri;
  const client = new MongoClient(uri, { maxPoolSize: 64 });
  await client.connect();
  const db = client.db(`bench_${Date.now()}`);
  const docs = db.collection<{ _id: ObjectId; n: number; payload: string }>('docs');
  const accounts = db.collection<{ _id: number; balance: number }>('accounts');
  const ledger = db.collection<{ _id: ObjectId; account: number; amount: number }>('ledger');
  const ids: ObjectId[] = [];
  for (let i = 0; i < SEED_DOCS; i += 1000) {
    const batch = Array.from({ length: 1000 }, (_, j) => ({
      _id: new ObjectId(),
      n: i + j,
      payload: 'x'.repeat(100),
    }));
    await docs.insertMany(batch);
    ids.push(...batch.map((d) => d._id));
  }
  await accounts.insertMany(Array.from({ length: SEED_DOCS }, (_, i) => ({ _id: i, balance: 0 })));
  const pick = () => ids[Math.floor(Math.random() * ids.length)];

  // A ledger-like collection: 2 entries per transaction_id, a non-unique index on it.
  const entries = db.collection<{ _id: ObjectId; transaction_id: string; amount: number }>(
    'entries',
  );
  await entries.createIndex({ transaction_id: 1 });
  for (let i = 0; i < QUERY_DOCS; i += 1000) {
    await entries.insertMany(
      Array.from({ length: 1000 }, (_, j) => ({
        _id: new ObjectId(),
        transaction_id: `t${Math.floor((i + j) / 2)}`,
        amount: i + j,
      })),
    );
  }
  // A job queue: 5% PENDING, the rest finished; the claim index of job-service.
  interface Job {
    _id: ObjectId;
    state: string;
    type: string;
    priority: number;
    run_at: Date;
    created_at: Date;
    payload: string;
  }
  const jobs = db.collection<Job>('jobs');
  await jobs.createIndex({ state: 1, type: 1, priority: -1, run_at: 1, created_at: 1, _id: 1 });
  const t0 = Date.now() - 3_600_000;
  for (let i = 0; i < QUERY_DOCS; i += 1000) {
    await jobs.insertMany(
      Array.from({ length: 1000 }, (_, j) => ({
        _id: new ObjectId(),
        state: (i + j) % 20 === 0 ? 'PENDING' : (i + j) % 7 === 0 ? 'DEAD' : 'SUCCEEDED',
        type: JOB_TYPES[(i + j) % JOB_TYPES.length],
        priority: (i + j) % 3,
        run_at: new Date(t0 + (i + j) * 100),
        created_at: new Date(t0 + (i + j) * 50),
        payload: 'p'.repeat(200),
      })),
    );
  }

  const sessions = Array.from({ length: 32 }, () => client.startSession());

  const cases: Array<[string, (w: number) => Promise<number | void>]> = [
    [
      'insertOne',
      async () => {
        await docs.insertOne({ _id: new ObjectId(), n: -1, payload: 'y'.repeat(100) });
      },
    ],
    [
      'findOne by _id',
      async () => {
        await docs.findOne({ _id: pick() });
      },
    ],
    [
      'updateOne',
      async () => {
        await docs.updateOne({ _id: pick() }, { $inc: { n: 1 } });
      },
    ],
    [
      '2-doc transaction',
      async (w) => {
        let attempts = 0;
        const account = Math.floor(Math.random() * SEED_DOCS);
        await sessions[w].withTransaction(async (session) => {
          attempts++;
          await accounts.updateOne({ _id: account }, { $inc: { balance: 5 } }, { session });
          await ledger.insertOne({ _id: new ObjectId(), account, amount: 5 }, { session });
        });
        return attempts - 1;
      },
    ],
    [
      'txn 2x updateOne',
      async (w) => {
        let attempts = 0;
        const a = Math.floor(Math.random() * SEED_DOCS);
        const b = (a + 1 + Math.floor(Math.random() * (SEED_DOCS - 1))) % SEED_DOCS;
        await sessions[w].withTransaction(async (session) => {
          attempts++;
          await accounts.updateOne(
            { _id: a },
            { $inc: { balance: -5 }, $set: { updated_at: new Date() } },
            { session },
          );
          await accounts.updateOne(
            { _id: b },
            { $inc: { balance: 5 }, $set: { updated_at: new Date() } },
            { session },
          );
        });
        return attempts - 1;
      },
    ],
    [
      'indexed find (20k)',
      async () => {
        const t = Math.floor(Math.random() * (QUERY_DOCS / 2));
        await entries.find({ transaction_id: `t${t}` }).toArray();
      },
    ],
    [
      'claim query (20k)',
      async () => {
        await jobs
          .find({
            state: 'PENDING',
            type: { $in: ['email', 'report', 'webhook'] },
            run_at: { $lte: new Date() },
          })
          .sort({ priority: -1, run_at: 1, created_at: 1, _id: 1 })
          .limit(512)
          .toArray();
      },
    ],
  ];

  const results: Result[] = [];
  for (const [name, op] of cases) {
    if (ONLY.length > 0 && !ONLY.some((o) => name.includes(o))) continue;
    for (const inFlight of [1, 32]) results.push(await measure(name, inFlight, op));
  }

  const mode = external
    ? `external server ${uri}`
    : journal
      ? 'devstack, journaled (fsync=interval)'
      : 'devstack, memory only';
  const load = loadavg()
    .map((l) => l.toFixed(2))
    .join(' ');
  console.log(
    `\ndevstack-mongo bench — ${mode}${SERVER_ROOT !== ROOT ? ` (server from ${SERVER_ROOT})` : ''}; ${SECONDS_PER_CASE}s per case; node ${process.version}; load average ${load}\n`,
  );
  console.log('operation              in-flight      ops/s    p50 ms    p99 ms   txn retries');
  for (const r of results) {
    console.log(
      `${r.name.padEnd(22)} ${String(r.inFlight).padStart(9)} ${(r.ops / r.seconds).toFixed(0).padStart(10)} ${r.p50.toFixed(2).padStart(9)} ${r.p99.toFixed(2).padStart(9)} ${String(r.retries).padStart(13)}`,
    );
  }
  for (const s of sessions) await s.endSession();
  await db.dropDatabase();
  await client.close();
  server?.cleanup();
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
