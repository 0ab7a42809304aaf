/**
 * kill -9 of the account-service under 16 in-flight transfers on two hot accounts, restarted on
 * the same MongoDB and Kafka, N times. Every kill lands while one of the service's transactions
 * holds the hot accounts (AccountCrashDrill freezes the process until a probe finds them locked).
 * Prints, per kill and in summary: kill → the new process listening, kill → first acknowledged
 * transfer on the hot accounts; then lost / doubled events and balances = ledgers.
 *
 * Levers compared (docs/architecture.md, "Security and resilience"):
 *   sessions     the restarted service kills its dead predecessor's sessions (the default)
 *   lifetime=N   no session records (deleted after each kill); MongoDB's
 *                transactionLifetimeLimitSeconds set to N reaps the open transaction
 *   none         neither: mongod's default 60 s lifetime
 *
 *   npx tsx bench/crash/run.ts                      10 kills, sessions; 3 kills, lifetime=5; 1 kill, none
 *   npx tsx bench/crash/run.ts sessions:12 none:2   (lever:kills ...)
 */
import { randomUUID } from 'node:crypto';
import { cpus, loadavg } from 'node:os';
import { MongoClient } from 'mongodb';
import { AccountCrashDrill } from '@trellis/platform/testing/crash';
import { percentile } from '../support/percentile';
import { spawnDevstack } from '../support/spawn-devstack';

const IN_FLIGHT = 16;

interface Lever {
  name: string;
  kills: number;
  /** transactionLifetimeLimitSeconds for the run; undefined = MongoDB's default (60). */
  lifetimeSeconds?: number;
  keepSessionRecords: boolean;
}

function parseLevers(args: string[]): Lever[] {
  const specs = args.length > 0 ? args : ['sessions:10', 'lifetime=5:3', 'none:1'];
  return specs.map((spec) => {
    const [name, kills = '1'] = spec.split(':');
    const lifetime = /^lifetime=(\d+)$/.exec(name);
    if (name !== 'sessions' && name !== 'none' && !lifetime)
      throw new Error(`unknown lever ${name}: sessions | lifetime=N | none`);
    return {
      name,
      kills: Number(kills),
      lifetimeSeconds: lifetime ? Number(lifetime[1]) : undefined,
      keepSessionRecords: name === 'sessions',
    };
  });
}

const seconds = (ms: number) => (ms / 1000).toFixed(1);

async function run(lever: Lever, mongoUri: string, brokers: string[]): Promise<void> {
  const admin = new MongoClient(mongoUri);
  await admin.connect();
  await admin
    .db('admin')
    .command({ setParameter: 1, transactionLifetimeLimitSeconds: lever.lifetimeSeconds ?? 60 });
  const drill = await AccountCrashDrill.start({
    mongoUri,
    brokers,
    database: `crash_bench_${randomUUID().slice(0, 8)}`,
    inFlight: IN_FLIGHT,
  });
  const toListening: number[] = [];
  const toFirstOk: number[] = [];
  const restartToFirstOk: number[] = [];
  try {
    drill.startLoad();
    for (let k = 1; k <= lever.kills; k++) {
      const killedAt = await drill.kill();
      if (!lever.keepSessionRecords) await drill.forgetSessionOwners();
      const listeningAt = await drill.restart();
      const firstOkAt = await drill.firstSuccessAfterKill(120_000);
      toListening.push(listeningAt - killedAt);
      toFirstOk.push(firstOkAt - killedAt);
      restartToFirstOk.push(firstOkAt - listeningAt);
      console.log(
        `  kill ${String(k).padStart(2)}: listening after ${seconds(listeningAt - killedAt)} s, first transfer on the hot accounts after ${seconds(firstOkAt - killedAt)} s (${seconds(firstOkAt - listeningAt)} s after the restart)`,
      );
    }
    await drill.stopLoad();
    const verdict = await drill.verify(60_000);
    const summary = (values: number[]) => {
      const sorted = [...values].sort((a, b) => a - b);
      return `median ${seconds(percentile(sorted, 50))} s, max ${seconds(sorted[sorted.length - 1])} s`;
    };
    console.log(
      `  ${lever.name}: ${lever.kills} kills; kill → first transfer: ${summary(toFirstOk)}; restart (listening) → first transfer: ${summary(restartToFirstOk)}; kill → listening: ${summary(toListening)}`,
    );
    console.log(
      `  ${verdict.committed} committed money transactions; events lost ${verdict.lost}, doubled ${verdict.doubled} (redelivered copies of an event id in Kafka, deduped by consumers: ${verdict.redelivered}); accounts whose balance ≠ ledger: ${verdict.unbalanced}`,
    );
  } finally {
    await drill.stop();
    await admin.close();
  }
}

async function main(): Promise<void> {
  const levers = parseLevers(process.argv.slice(2));
  const { info, process: devstack } = await spawnDevstack('infra');
  console.log(
    `crash bench: account-service in a child process, ${IN_FLIGHT} in-flight transfers on 2 hot accounts, kill -9 while a transaction holds them; Node ${process.version}, ${cpus().length} cores, load average ${loadavg()
      .map((l) => l.toFixed(1))
      .join(' ')}`,
  );
  try {
    for (const lever of levers) {
      console.log(
        `lever ${lever.name} (transactionLifetimeLimitSeconds ${lever.lifetimeSeconds ?? 60}, session records ${lever.keepSessionRecords ? 'kept' : 'deleted after each kill'}):`,
      );
      await run(lever, info.mongoUri, info.brokers);
    }
  } finally {
    devstack.kill('SIGTERM');
  }
}

void main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
