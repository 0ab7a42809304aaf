import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { jobV1 } from '@trellis/contracts';
import { waitFor } from '@trellis/platform/testing';
import { startHarness, type Harness } from './harness';

const root = join(__dirname, '..', '..', '..');
const fixture = join(__dirname, 'fixtures', 'worker-process.ts');

interface RecordLine {
  worker: string;
  ev: 'ready' | 'start' | 'end';
  job?: string;
  attempt?: number;
  t: number;
}

let h: Harness;
let dir: string;
const children: ChildProcess[] = [];

function spawnWorker(workerId: string, recordFile: string, concurrency = 4): ChildProcess {
  const child = spawn(process.execPath, [join(root, 'node_modules/tsx/dist/cli.mjs'), fixture], {
    cwd: root,
    env: {
      ...process.env,
      TSX_TSCONFIG_PATH: join(root, 'apps/job-service/tsconfig.json'),
      JOB_SERVICE_ADDRESS: h.service.grpcAddress,
      WORKER_ID: workerId,
      RECORD_FILE: recordFile,
      CONCURRENCY: String(concurrency),
    },
    stdio: ['ignore', 'inherit', 'inherit'],
  });
  children.push(child);
  return child;
}

function readRecords(file: string): RecordLine[] {
  let text = '';
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    return [];
  }
  return text
    .split('\n')
    .filter(Boolean)
    .map((line) => JSON.parse(line) as RecordLine);
}

async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGTERM');
  await exited;
}

beforeAll(async () => {
  h = await startHarness('job_workers');
  dir = mkdtempSync(join(tmpdir(), 'job-workers-'));
});
afterAll(async () => {
  await Promise.all(children.map(stopChild));
  await h?.stop();
  rmSync(dir, { recursive: true, force: true });
});

it('2,000 jobs over 5 worker processes: each SUCCEEDED exactly once, no overlapping runs', async () => {
  const file = join(dir, 'many.jsonl');
  const created: string[] = [];
  const batch = 100;
  for (let i = 0; i < 2000; i += batch) {
    const responses = await Promise.all(
      Array.from({ length: batch }, (_, k) =>
        h.jobs.client.createJob({ type: 'test.work', payload: { n: i + k } }),
      ),
    );
    created.push(...responses.map((r) => r.job!.id));
  }
  const workers = Array.from({ length: 5 }, (_, i) => spawnWorker(`w${i}`, file));
  await waitFor(
    async () => {
      const stats = await h.jobs.client.getQueueStats({ types: ['test.work'] });
      return stats.stats[0]?.succeeded === 2000n;
    },
    { timeoutMs: 90_000, intervalMs: 250, what: '2,000 SUCCEEDED jobs' },
  );
  await Promise.all(workers.map(stopChild));

  const records = readRecords(file).filter((r) => r.ev !== 'ready');
  const byJob = new Map<string, RecordLine[]>();
  for (const r of records) byJob.set(r.job!, [...(byJob.get(r.job!) ?? []), r]);
  expect(byJob.size).toBe(2000);
  for (const id of created) {
    const lines = byJob.get(id) ?? [];
    const starts = lines.filter((l) => l.ev === 'start').sort((a, b) => a.t - b.t);
    const ends = lines.filter((l) => l.ev === 'end').sort((a, b) => a.t - b.t);
    expect(ends.length).toBeGreaterThanOrEqual(1);
    // Intervals [start_i, end_i] of one job never overlap.
    for (let i = 1; i < starts.length; i++)
      expect(starts[i].t).toBeGreaterThanOrEqual(ends[i - 1].t);
  }
  // Every job went SUCCEEDED once: one JobSucceeded event each and state SUCCEEDED in MongoDB.
  const db = h.service.context.mongo.db;
  const succeededEvents = await db
    .collection('outbox')
    .aggregate<{ _id: string; n: number }>([
      { $match: { event_type: 'trellis.job.v1.JobSucceeded' } },
      { $group: { _id: '$aggregate_id', n: { $sum: 1 } } },
    ])
    .toArray();
  expect(succeededEvents).toHaveLength(2000);
  expect(succeededEvents.every((e) => e.n === 1)).toBe(true);
  const notDone = await db
    .collection('jobs')
    .countDocuments({ _id: { $in: created } as never, state: { $ne: 'SUCCEEDED' } });
  expect(notDone).toBe(0);
  // All five processes took part.
  expect(new Set(records.map((r) => r.worker)).size).toBe(5);
}, 120_000);
