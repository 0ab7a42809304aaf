/**
 * kill -9 of the devstack (MongoDB + Kafka in one child process, on a data directory) during a run
 * of money operations against the account-service (in its own child process), restarted on the
 * same ports and data directory each time; then every account event is read back from the
 * beginning of the topic and counted: duplicate event ids (copies of an event id beyond the first),
 * committed transactions without an event (lost), balances = ledgers.
 *
 *   npx tsx bench/crash/devstack-kill.ts             2,000 operations, 3 kills
 *   npx tsx bench/crash/devstack-kill.ts 4000 5      (operations kills)
 */
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ChildProcess } from 'node:child_process';
import { AccountCrashDrill } from '@trellis/platform/testing/crash';
import { waitFor } from '@trellis/platform/testing';
import { spawnDevstack } from '../support/spawn-devstack';

const IN_FLIGHT = 16;

async function main(): Promise<void> {
  const operations = Number(process.argv[2] ?? 2000);
  const kills = Number(process.argv[3] ?? 3);
  const dataDir = mkdtempSync(join(tmpdir(), 'trellis-devstack-kill-'));
  const env: Record<string, string> = { BENCH_DATA_DIR: dataDir };
  let devstack: ChildProcess;
  const first = await spawnDevstack('infra', [], env);
  devstack = first.process;
  const { mongoUri, brokers } = first.info;
  // Restarts bind the same ports, so the service's clients reconnect as to a restarted server.
  env.BENCH_MONGO_PORT = new URL(mongoUri).port;
  env.BENCH_KAFKA_PORT = brokers[0].split(':').pop() ?? '';
  console.log(
    `devstack kill bench: ${operations} transfers (${IN_FLIGHT} in flight) through the account-service, ${kills} × kill -9 of the devstack (MongoDB + Kafka) mid-run; Node ${process.version}, ${cpus().length} cores, load average ${loadavg()
      .map((l) => l.toFixed(1))
      .join(' ')}`,
  );
  const drill = await AccountCrashDrill.start({
    mongoUri,
    brokers,
    database: `devstack_kill_${randomUUID().slice(0, 8)}`,
    inFlight: IN_FLIGHT,
  });
  try {
    drill.startLoad();
    for (let k = 1; k <= kills; k++) {
      const at = Math.round((operations * k) / (kills + 1));
      await waitFor(() => drill.ok >= at, { timeoutMs: 300_000, what: `${at} transfers` });
      const exited = new Promise((resolve) => devstack.once('exit', resolve));
      devstack.kill('SIGKILL');
      await exited;
      const killedAt = Date.now();
      const okAtKill = drill.ok;
      devstack = (await spawnDevstack('infra', [], env)).process;
      const restartedAt = Date.now();
      await waitFor(() => drill.ok > okAtKill, { timeoutMs: 120_000, what: 'a transfer' });
      console.log(
        `  kill ${k} after ${okAtKill} acknowledged transfers: devstack back in ${((restartedAt - killedAt) / 1000).toFixed(1)} s, next acknowledged transfer after ${((Date.now() - killedAt) / 1000).toFixed(1)} s`,
      );
    }
    await waitFor(() => drill.ok >= operations, { timeoutMs: 300_000, what: 'the run' });
    await drill.stopLoad();
    const verdict = await drill.verify(60_000);
    console.log(
      `  ${drill.ok} acknowledged transfers, ${verdict.committed} committed money transactions; duplicate event ids in Kafka: ${verdict.redelivered}; transactions with more than one event id: ${verdict.doubled}; lost events: ${verdict.lost}; accounts whose balance ≠ ledger: ${verdict.unbalanced}`,
    );
    // Where the relay stood at each kill: what failed (send or delete) and what it found in Kafka.
    const relayLines = new Map<string, number>();
    for (const line of drill.output().split('\n')) {
      if (!line.includes('"component":"outbox-relay"')) continue;
      const { msg, err, already_published, acknowledged } = JSON.parse(line) as {
        msg: string;
        err?: { type?: string; message?: string };
        already_published?: number;
        acknowledged?: number;
      };
      const detail = err ? `: ${err.type} ${err.message?.slice(0, 80)}` : '';
      const entries = already_published ?? acknowledged;
      const key = `${msg}${detail}${entries ? ` (${entries} entries)` : ''}`;
      relayLines.set(key, (relayLines.get(key) ?? 0) + 1);
    }
    for (const [line, count] of relayLines) console.log(`  relay log ×${count}: ${line}`);
  } finally {
    await drill.stop();
    devstack.kill('SIGTERM');
    await new Promise((resolve) => devstack.once('exit', resolve));
    rmSync(dataDir, { recursive: true, force: true });
  }
}

void main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
