/**
 * A job queue that is not ours on the devstack MongoDB: Agenda's lock query, as agenda 5
 * (`JobDbRepository.getNextJobToRun`) sends it — `findOneAndUpdate` of
 *
 *   { name, disabled: { $ne: true },
 *     $or: [{ lockedAt: { $eq: null }, nextRunAt: { $lte: now } }, { lockedAt: { $lte: deadline } }] }
 *
 * with `$set: { lockedAt: now }`, sort `{ nextRunAt: 1, priority: -1 }`, `returnDocument: 'after'`,
 * over Agenda's index `findAndLockNextJobIndex` `{ name, nextRunAt, priority: -1, lockedAt, disabled }`.
 * (The `agenda` package itself is not used: its current major no longer ships the MongoDB backend
 * this query belongs to.)
 *
 * For 1,000 and 100,000 stored jobs (completed one-off jobs: `nextRunAt: null`, Agenda's history),
 * workers each create a job (`agenda.now`), claim the next one with the query above and complete it
 * (`lockedAt: null, nextRunAt: null, lastFinishedAt`), with a backlog of due jobs kept steady. Prints
 * jobs/s and the devstack server's CPU ms per job (after 1.5 s of warm-up), with the planner on and with
 * DEVSTACK_MONGO_PLANNER=off (every query a full scan: the server before the planner).
 *
 *   npx tsx bench/agenda/run.ts
 *   BENCH_SECONDS=5 BENCH_WORKERS=4 BENCH_STORED=1000,100000 BENCH_MODES=on,off
 */
import { readFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { type Collection, type Document, MongoClient, ObjectId } from 'mongodb';
import { spawnMongo } from '../support/spawn-mongo';

const SECONDS = Number(process.env.BENCH_SECONDS ?? 5);
const WORKERS = Number(process.env.BENCH_WORKERS ?? 4);
const STORED = (process.env.BENCH_STORED ?? '1000,100000').split(',').map(Number);
const MODES = (process.env.BENCH_MODES ?? 'on,off').split(',');
const BACKLOG = 50;
const WARM_UP_MS = 1500;
const LOCK_LIFETIME_MS = 600_000; // Agenda's default defaultLockLifetime
const SORT = { nextRunAt: 1, priority: -1 } as const;

/** user+system CPU of a process in ms (Linux /proc; clock ticks of 10 ms). */
function cpuMs(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return (Number(fields[11]) + Number(fields[12])) * 10;
}

function newJob(nextRunAt: Date | null, extra: Document = {}): Document {
  return {
    _id: new ObjectId(),
    name: 'work',
    data: { n: 1 },
    type: 'normal',
    priority: 0,
    nextRunAt,
    lastModifiedBy: null,
    lockedAt: null,
    ...extra,
  };
}

/** Agenda's claim: the next due (or abandoned) job, locked for this worker. */
async function claim(jobs: Collection): Promise<Document | null> {
  const now = new Date();
  return jobs.findOneAndUpdate(
    {
      name: 'work',
      disabled: { $ne: true },
      $or: [
        { lockedAt: { $eq: null }, nextRunAt: { $lte: now } },
        { lockedAt: { $lte: new Date(now.getTime() - LOCK_LIFETIME_MS) } },
      ],
    },
    { $set: { lockedAt: now } },
    { sort: SORT, returnDocument: 'after' },
  );
}

async function seed(jobs: Collection, stored: number): Promise<void> {
  await jobs.createIndex(
    { name: 1, nextRunAt: 1, priority: -1, lockedAt: 1, disabled: 1 },
    { name: 'findAndLockNextJobIndex' },
  );
  const finished = new Date(Date.now() - 86_400_000);
  for (let i = 0; i < stored; i += 1000) {
    const batch = Array.from({ length: Math.min(1000, stored - i) }, () =>
      newJob(null, { lastRunAt: finished, lastFinishedAt: finished }),
    );
    await jobs.insertMany(batch);
  }
  await jobs.insertMany(Array.from({ length: BACKLOG }, () => newJob(new Date())));
}

async function run(
  uri: string,
  pid: number,
  stored: number,
): Promise<{ jobs: number; seconds: number; cpuPerJob: number }> {
  const client = await MongoClient.connect(uri, { maxPoolSize: WORKERS + 2 });
  try {
    const jobs = client.db(`agenda_${stored}`).collection('agendaJobs');
    await seed(jobs, stored);
    let done = 0;
    const work = (until: number) =>
      Promise.all(
        Array.from({ length: WORKERS }, async () => {
          while (Date.now() < until) {
            await jobs.insertOne(newJob(new Date())); // agenda.now('work')
            const job = await claim(jobs);
            if (!job) continue;
            await jobs.updateOne(
              { _id: job._id },
              { $set: { lockedAt: null, nextRunAt: null, lastFinishedAt: new Date() } },
            );
            done++;
          }
        }),
      );
    await work(Date.now() + WARM_UP_MS); // the server's JIT warm on this collection's size
    done = 0;
    const cpu0 = cpuMs(pid);
    const start = process.hrtime.bigint();
    await work(Date.now() + SECONDS * 1000);
    const seconds = Number(process.hrtime.bigint() - start) / 1e9;
    return { jobs: done, seconds, cpuPerJob: (cpuMs(pid) - cpu0) / Math.max(done, 1) };
  } finally {
    await client.close();
  }
}

async function main(): Promise<void> {
  const rows: string[] = [];
  for (const mode of MODES) {
    const server = await spawnMongo({
      env: mode === 'off' ? { DEVSTACK_MONGO_PLANNER: 'off' } : {},
    });
    try {
      for (const stored of STORED) {
        const r = await run(server.uri, server.child.pid as number, stored);
        rows.push(
          `| ${mode === 'off' ? 'full scan (planner off)' : 'planner'} | ${stored.toLocaleString('en-US')} | ${(r.jobs / r.seconds).toFixed(0)} | ${r.cpuPerJob.toFixed(2)} | ${r.jobs} |`,
        );
        console.log(rows[rows.length - 1]);
      }
    } finally {
      server.cleanup();
    }
  }
  const load = loadavg()
    .map((l) => l.toFixed(2))
    .join(' ');
  console.log(
    `\nAgenda lock query on the devstack MongoDB — ${WORKERS} workers, ${SECONDS}s per case, backlog ${BACKLOG} due jobs; node ${process.version}; load average ${load}\n`,
  );
  console.log('| server | stored jobs | jobs/s | server CPU ms/job | jobs |');
  console.log('|---|---|---|---|---|');
  for (const row of rows) console.log(row);
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
