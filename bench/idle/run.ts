// Idle cost of `npm start`: starts the whole system (devstack MongoDB, Kafka and SMTP plus the three
// services, all in one process under scripts/start.js) on ephemeral ports and a fresh data
// directory, waits for "Trellis is ready", lets it settle, then samples the CPU time (utime + stime
// from /proc, summed over the process tree) over the window and prints it as % of one core, with the
// resident memory of the all-in-one process at the end. Nothing calls the system meanwhile.
// Then it connects two SDK workers long-polling ClaimJobs (10 s cycles) and times a worker's stop()
// and Ctrl-C (SIGINT) of `npm start` with the other one still long-polling.
//
//   npx tsx bench/idle/run.ts            (IDLE_SECONDS=60 SETTLE_SECONDS=5)
//   BENCH_PROFILE_DIR=/tmp/prof          also writes a CPU profile of the all-in-one process there
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { jobV1 } from '@trellis/contracts';
import { createWorker } from '@trellis/job-worker';
import { createGrpcClient } from '@trellis/platform/grpc';
import { createLogger } from '@trellis/platform/logging';
import { processTree, rssMb, treeCpuMs } from '../support/proc';

const IDLE_SECONDS = Number(process.env.IDLE_SECONDS ?? 60);
const SETTLE_SECONDS = Number(process.env.SETTLE_SECONDS ?? 5);
const ROOT = join(__dirname, '..', '..');
async function main(): Promise<void> {
  const dataDir = mkdtempSync(join(tmpdir(), 'trellis-idle-'));
  const profileDir = process.env.BENCH_PROFILE_DIR;
  // start.js passes its node flags on to the all-in-one process (--cpu-prof is refused in NODE_OPTIONS).
  const nodeArgs = profileDir ? ['--cpu-prof', `--cpu-prof-dir=${profileDir}`] : [];
  const child = spawn(process.execPath, [...nodeArgs, 'scripts/start.js'], {
    cwd: ROOT,
    env: { ...process.env, DEVSTACK_PORTS: 'ephemeral', DEVSTACK_DATA_DIR: dataDir },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const exited = new Promise<never>((_, reject) =>
    child.once('exit', (code) => reject(new Error(`npm start exited with ${code}`))),
  );
  const startedAt = performance.now();
  let out = '';
  await Promise.race([
    exited,
    new Promise<void>((resolve) => {
      child.stdout!.on('data', (chunk: Buffer) => {
        out += chunk.toString();
        if (out.includes('Trellis is ready')) resolve();
      });
    }),
  ]);
  child.stdout!.resume();
  const readyS = (performance.now() - startedAt) / 1000;
  await new Promise((resolve) => setTimeout(resolve, SETTLE_SECONDS * 1000));
  const root = child.pid!;
  // The all-in-one process: the largest child (a stopped esbuild service may linger as a zombie).
  const system =
    processTree(root)
      .filter((pid) => pid !== root)
      .sort((a, b) => (rssMb(b) || 0) - (rssMb(a) || 0))[0] ?? root;
  const before = treeCpuMs(root);
  const from = performance.now();
  await new Promise((resolve) => setTimeout(resolve, IDLE_SECONDS * 1000));
  const usedMs = treeCpuMs(root) - before;
  const elapsedMs = performance.now() - from;
  const rss = rssMb(system);
  console.log(
    `load average ${loadavg()
      .map((l) => l.toFixed(1))
      .join(
        ' ',
      )}, ${cpus().length} cores; ready after ${readyS.toFixed(1)} s, then ${SETTLE_SECONDS} s unmeasured`,
  );
  console.log(
    `idle ${(elapsedMs / 1000).toFixed(0)} s: ${(usedMs / 1000).toFixed(2)} s of CPU = ${((100 * usedMs) / elapsedMs).toFixed(2)} % of one core; all-in-one process RSS ${rss.toFixed(0)} MB`,
  );
  exited.catch(() => undefined);

  const address = /job-service\s+(\S+)/.exec(out)?.[1];
  if (!address) throw new Error('no job-service address in the ready table');
  const logger = createLogger({ service: 'bench', level: 'error' });
  const clients = [0, 1].map(() => createGrpcClient(jobV1.JobServiceDefinition, { address }));
  const [kept, stopped] = clients.map((c, i) =>
    createWorker({
      client: c.client,
      types: ['demo.echo'],
      workerId: `idle-bench-${i}`,
      claimWaitMs: 10_000,
      logger,
      async handler() {
        return {};
      },
    }),
  );
  // Into the long-polls' 10 s cycle.
  await new Promise((resolve) => setTimeout(resolve, 1_500));
  let from2 = performance.now();
  await stopped.stop();
  const workerStopMs = performance.now() - from2;
  const exitedAgain = new Promise((resolve) => child.once('exit', resolve));
  from2 = performance.now();
  child.kill('SIGINT');
  await exitedAgain;
  const ctrlCMs = performance.now() - from2;
  await kept.stop({ deadlineMs: 1_000 });
  for (const c of clients) c.close();
  console.log(
    `with SDK workers long-polling (10 s cycles): worker.stop() ${workerStopMs.toFixed(0)} ms, Ctrl-C of npm start ${ctrlCMs.toFixed(0)} ms`,
  );
  rmSync(dataDir, { recursive: true, force: true });
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
