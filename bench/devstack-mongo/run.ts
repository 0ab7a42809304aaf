/**
 * Devstack MongoDB throughput with the official driver: insertOne, findOne by _id, updateOne, and
 * committed 2-document transactions, each at 1 and 32 operations in flight. Prints ops/s and
 * p50/p99 latency; asserts nothing.
 *
 *   npx tsx bench/devstack-mongo/run.ts                 # memory-only server
 *   npx tsx bench/devstack-mongo/run.ts --journal       # journaled server (fsync policy: interval)
 *   MONGODB_URI=mongodb://... npx tsx bench/devstack-mongo/run.ts   # any other server
 *
 * The devstack server runs in a child process (as under `npm start`), so the driver and the server
 * do not share an event loop.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MongoClient, ObjectId } from 'mongodb';

const ROOT = join(__dirname, '../..');
const SECONDS_PER_CASE = Number(process.env.BENCH_SECONDS ?? 3);
const SEED_DOCS = 10_000;

interface Result {
  name: string;
  inFlight: number;
  ops: number;
  seconds: number;
  p50: number;
  p99: number;
  retries: number;
}

async function startServer(
  journal: boolean,
): Promise<{ uri: string; child: ChildProcess; cleanup: () => void }> {
  const dataDir = journal ? mkdtempSync(join(tmpdir(), 'bench-devstack-mongo-')) : undefined;
  const child = spawn(process.execPath, ['--import', 'tsx', 'libs/devstack/mongo/src/main.ts'], {
    cwd: ROOT,
    env: {
      ...process.env,
      DEVSTACK_MONGO_PORT: '0',
      LOG_LEVEL: 'warn',
      ...(dataDir ? { DEVSTACK_MONGO_DATA_DIR: dataDir } : {}),
    },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const uri = await new Promise<string>((resolve, reject) => {
    let out = '';
    child.stdout?.on('data', (b: Buffer) => {
      out += b.toString();
      const m = out.match(/MONGODB_URI=(\S+)/);
      if (m) resolve(m[1]);
    });
    child.once('exit', (code) => reject(new Error(`server exited with ${code}`)));
  });
  return {
    uri,
    child,
    cleanup: () => {
      child.kill('SIGTERM');
      if (dataDir) rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
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
  const server = external ? null : await startServer(journal);
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
  ];

  const results: Result[] = [];
  for (const [name, op] of cases) {
    for (const inFlight of [1, 32]) results.push(await measure(name, inFlight, op));
  }

  const mode = external
    ? `external server ${uri}`
    : journal
      ? 'devstack, journaled (fsync=interval)'
      : 'devstack, memory only';
  console.log(
    `\ndevstack-mongo bench — ${mode}; ${SECONDS_PER_CASE}s per case; node ${process.version}\n`,
  );
  console.log('operation            in-flight      ops/s    p50 ms    p99 ms   txn retries');
  for (const r of results) {
    console.log(
      `${r.name.padEnd(20)} ${String(r.inFlight).padStart(9)} ${(r.ops / r.seconds).toFixed(0).padStart(10)} ${r.p50.toFixed(2).padStart(9)} ${r.p99.toFixed(2).padStart(9)} ${String(r.retries).padStart(13)}`,
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
