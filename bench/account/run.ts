/**
 * account-service throughput. Prints figures and ratios; asserts nothing.
 *
 *   npx tsx bench/account/run.ts            (BENCH_SECONDS per case, default 3)
 *
 * - Deposit and Transfer RPC/s with p50/p99 latency at 1, 16 and 64 calls in flight, driven by a
 *   nice-grpc client in this process.
 * - GetAccount RPC/s beside a bare grpc-js echo server measured in the same run, both driven by
 *   h2load (nghttp2-client): a Node client saturates before a Node server does, so the
 *   server-side comparison needs a C load generator.
 *
 * The service runs in this process; the devstack MongoDB and Kafka servers run in a child process
 * (bench/support/devstack-child.ts), as a real database would. Diagnosis lines: `floor` is one
 * Transfer's writes as a raw driver transaction (what the database alone allows), and Health/Check
 * on the same server is the platform's gRPC middleware chain without handler or database.
 *
 * Options: BENCH_ONLY=money|get, BENCH_ROUNDS (5 h2load rounds), BENCH_ACCOUNTS (1000), BENCH_LOG_LEVEL (info),
 * BENCH_LOG_SLOW_QUERY_MS (unset: the service default; 0 writes an access line for every GetAccount too),
 * BENCH_PROFILE_DIR (CPU profile of the devstack process), BENCH_NO_RELAY=1 (relay stopped),
 * BENCH_SERVICE_PROFILE_DIR (CPU profiles of this process during each GetAccount and Health round;
 * with BENCH_HEAP=1 also allocation profiles).
 * Needs h2load and nghttp (apt: nghttp2-client).
 */
import { type ChildProcess, execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { Session } from 'node:inspector/promises';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import * as grpc from '@grpc/grpc-js';
import { MongoClient } from 'mongodb';
import { accountV1 } from '@trellis/contracts';
import { startAccountService } from '@trellis/account-service';
import { createGrpcClient } from '@trellis/platform/grpc';
import { createLogger, lineDestination } from '@trellis/platform/logging';
import { loadServiceConfig } from '@trellis/account-service/config';
import { spawnDevstack } from '../support/spawn-devstack';

const SECONDS = Number(process.env.BENCH_SECONDS ?? 3);
// Five rounds: the echo baseline alone swings by a third between rounds on a shared machine.
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 5);
const ACCOUNTS = Number(process.env.BENCH_ACCOUNTS ?? 1_000);
const run = promisify(execFile);

async function startDevstack(): Promise<{
  mongoUri: string;
  brokers: string[];
  child: ChildProcess;
}> {
  // BENCH_PROFILE_DIR=/tmp/prof writes a CPU profile of the devstack process there.
  const profile = process.env.BENCH_PROFILE_DIR
    ? ['--cpu-prof', `--cpu-prof-dir=${process.env.BENCH_PROFILE_DIR}`]
    : [];
  const { info, process: child } = await spawnDevstack('infra', profile);
  const found = info;
  return { ...found, child };
}

interface Figures {
  rps: number;
  p50: number;
  p99: number;
  errors: number;
}

/** Keeps `inFlight` calls running for SECONDS; latency percentiles in ms. */
async function closedLoop(inFlight: number, call: () => Promise<unknown>): Promise<Figures> {
  const latencies: number[] = [];
  let errors = 0;
  const deadline = performance.now() + SECONDS * 1000;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: inFlight }, async () => {
      while (performance.now() < deadline) {
        const t0 = performance.now();
        try {
          await call();
          latencies.push(performance.now() - t0);
        } catch {
          errors++;
        }
      }
    }),
  );
  const seconds = (performance.now() - started) / 1000;
  latencies.sort((a, b) => a - b);
  const at = (q: number) =>
    latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))] ?? NaN;
  return { rps: latencies.length / seconds, p50: at(0.5), p99: at(0.99), errors };
}

/** A grpc-js server with one unary method that returns its request bytes: the baseline. */
async function startEchoServer(): Promise<{ port: number; stop(): Promise<void> }> {
  const server = new grpc.Server();
  const identity = (b: Buffer) => b;
  server.addService(
    {
      echo: {
        path: '/bench.Echo/Echo',
        requestStream: false,
        responseStream: false,
        requestSerialize: identity,
        requestDeserialize: identity,
        responseSerialize: identity,
        responseDeserialize: identity,
      },
    },
    {
      echo: (call: grpc.ServerUnaryCall<Buffer, Buffer>, callback: grpc.sendUnaryData<Buffer>) =>
        callback(null, call.request),
    },
  );
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (err, p) =>
      err ? reject(err) : resolve(p),
    ),
  );
  return { port, stop: () => new Promise((resolve) => server.tryShutdown(() => resolve())) };
}

/** gRPC over h2load: the body is the length-prefixed message (flag 0, u32 big-endian length). */
function grpcFrame(message: Uint8Array): Buffer {
  const frame = Buffer.alloc(5 + message.length);
  frame.writeUInt8(0, 0);
  frame.writeUInt32BE(message.length, 1);
  Buffer.from(message).copy(frame, 5);
  return frame;
}

const GRPC_HEADERS = ['-H', 'content-type: application/grpc', '-H', 'te: trailers'];

async function h2load(
  url: string,
  bodyFile: string,
): Promise<{ rps: number; ok: number; total: number; cpuUs: number }> {
  const cpu = process.cpuUsage();
  const { stdout } = await run(
    'h2load',
    [
      '-D',
      String(SECONDS),
      '--warm-up-time',
      '1',
      '-c',
      '8',
      '-m',
      '32',
      '-t',
      '1',
      ...GRPC_HEADERS,
      '-d',
      bodyFile,
      url,
    ],
    { maxBuffer: 16 * 1024 * 1024 },
  );
  const rps = Number(/finished in [\d.]+m?s, ([\d.]+) req\/s/.exec(stdout)?.[1] ?? NaN);
  const ok = Number(/status codes: (\d+) 2xx/.exec(stdout)?.[1] ?? 0);
  const total = Number(/requests: (\d+) total/.exec(stdout)?.[1] ?? 0);
  // CPU this process spent per call (the servers run here; MongoDB runs in the child). h2load
  // counts calls after its 1 s warm-up, the CPU clock runs through it: the rate covers both.
  const { user, system } = process.cpuUsage(cpu);
  const cpuUs = (user + system) / (rps * (SECONDS + 1));
  return { rps, ok, total, cpuUs };
}

/** One request through nghttp, to see the grpc-status trailer h2load does not report. */
async function grpcStatusOf(url: string, bodyFile: string): Promise<string> {
  const { stdout } = await run('nghttp', ['-v', ...GRPC_HEADERS, '-d', bodyFile, url]);
  return /grpc-status: (\d+)/.exec(stdout)?.[1] ?? '(none)';
}

/**
 * With BENCH_SERVICE_PROFILE_DIR set, records a CPU profile of this process (the service) while
 * `work` runs and writes it there as `<name>.cpuprofile`; otherwise just runs `work`.
 */
async function profiled<T>(name: string, work: () => Promise<T>): Promise<T> {
  const dir = process.env.BENCH_SERVICE_PROFILE_DIR;
  if (!dir) return work();
  const session = new Session();
  session.connect();
  await session.post('Profiler.enable');
  await session.post('Profiler.start');
  // BENCH_HEAP=1: also a sampled profile of every allocation (collected or not) in that round.
  if (process.env.BENCH_HEAP)
    await session.post('HeapProfiler.startSampling', {
      samplingInterval: 4096,
      includeObjectsCollectedByMajorGC: true,
      includeObjectsCollectedByMinorGC: true,
    });
  try {
    return await work();
  } finally {
    if (process.env.BENCH_HEAP) {
      const { profile: heap } = await session.post('HeapProfiler.stopSampling');
      mkdirSync(dir, { recursive: true });
      writeFileSync(join(dir, `${name}.heapprofile`), JSON.stringify(heap));
    }
    const { profile } = await session.post('Profiler.stop');
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, `${name}.cpuprofile`), JSON.stringify(profile));
    session.disconnect();
  }
}

const fmt = (n: number, digits = 0) => n.toLocaleString('en-US', { maximumFractionDigits: digits });

type AccountClient = ReturnType<
  typeof createGrpcClient<typeof accountV1.AccountServiceDefinition>
>['client'];
const eur = (units: bigint) => ({ currencyCode: 'EUR', units });

/** account_transaction_retries_total: transactions rerun after a write conflict. */
async function retries(metricsUrl: string): Promise<number> {
  const text = await (await fetch(metricsUrl)).text();
  return Number(/^account_transaction_retries_total(?:\{[^}]*\})? (\d+)/m.exec(text)?.[1] ?? 0);
}

async function moneyRpcs(
  client: AccountClient,
  pick: () => string,
  metricsUrl: string,
): Promise<void> {
  console.log('\nmoney RPCs (nice-grpc client in this process)');
  console.log('rpc        in flight      RPC/s    p50 ms    p99 ms  errors  conflict reruns');
  for (const [name, call] of [
    [
      'Deposit',
      () =>
        client.deposit({ accountId: pick(), amount: eur(1_000n), idempotencyKey: randomUUID() }),
    ],
    [
      'Transfer',
      () => {
        const from = pick();
        let to = pick();
        while (to === from) to = pick();
        return client.transfer({
          fromAccountId: from,
          toAccountId: to,
          amount: eur(1n),
          idempotencyKey: randomUUID(),
        });
      },
    ],
  ] as const) {
    for (const inFlight of [1, 16, 64]) {
      const before = await retries(metricsUrl);
      const f = await closedLoop(inFlight, call);
      const reruns = (await retries(metricsUrl)) - before;
      console.log(
        `${name.padEnd(10)} ${String(inFlight).padStart(9)} ${fmt(f.rps).padStart(10)} ${fmt(f.p50, 2).padStart(9)} ${fmt(f.p99, 2).padStart(9)} ${String(f.errors).padStart(7)} ${String(reruns).padStart(16)}`,
      );
    }
  }
}

/**
 * The database floor: the writes of one Transfer (idempotency key, both accounts read and
 * written, two ledger entries, one outbox entry, commit) issued straight through the driver at
 * 64 in flight, without gRPC, validation, mapping or the relay.
 */
async function transferFloor(mongoUri: string): Promise<Figures> {
  const client = new MongoClient(mongoUri, { writeConcern: { w: 'majority' } });
  await client.connect();
  const db = client.db(`account_floor_${randomUUID().slice(0, 8)}`);
  const accounts = db.collection<{ _id: string; balance: number; version: number }>('accounts');
  const ids = Array.from({ length: ACCOUNTS }, (_, i) => `a${i}`);
  await accounts.insertMany(ids.map((_id) => ({ _id, balance: 0, version: 1 })));
  const pick = () => ids[Math.floor(Math.random() * ids.length)];
  try {
    return await closedLoop(64, async () => {
      const from = pick();
      let to = pick();
      while (to === from) to = pick();
      const session = client.startSession();
      try {
        await session.withTransaction(
          async () => {
            await db
              .collection('idempotency')
              .insertOne({ _id: randomUUID() as never }, { session });
            const docs = await accounts.find({ _id: { $in: [from, to] } }, { session }).toArray();
            await accounts.bulkWrite(
              docs.map((d) => ({
                updateOne: {
                  filter: { _id: d._id, version: d.version },
                  update: {
                    $set: {
                      balance: d.balance + (d._id === from ? -1 : 1),
                      version: d.version + 1,
                    },
                  },
                },
              })),
              { session },
            );
            await db.collection('ledger').insertMany([{ a: from }, { a: to }], { session });
            await db.collection('outbox').insertOne({ from, to, published_at: null }, { session });
          },
          { readConcern: { level: 'snapshot' }, writeConcern: { w: 'majority' } },
        );
      } finally {
        await session.endSession();
      }
    });
  } finally {
    await db.dropDatabase();
    await client.close();
  }
}

async function getAccountVsEcho(
  address: string,
  accountId: string,
  echoPort: number,
  work: string,
): Promise<void> {
  console.log('\nGetAccount vs a bare grpc-js echo server (h2load -c 8 -m 32, one thread)');
  const getBody = join(work, 'get-account.bin');
  writeFileSync(
    getBody,
    grpcFrame(accountV1.GetAccountRequest.encode({ accountId: accountId }).finish()),
  );
  const getUrl = `http://${address}/trellis.account.v1.AccountService/GetAccount`;
  const echoUrl = `http://127.0.0.1:${echoPort}/bench.Echo/Echo`;
  console.log(
    `grpc-status sample: GetAccount ${await grpcStatusOf(getUrl, getBody)}, echo ${await grpcStatusOf(echoUrl, getBody)}`,
  );
  // Alternating rounds, median of each: on a shared machine one round alone can be far off.
  const healthBody = join(work, 'health.bin');
  writeFileSync(healthBody, grpcFrame(new Uint8Array()));
  const healthUrl = `http://${address}/grpc.health.v1.Health/Check`;
  const rounds: Array<{
    bare: number;
    get: number;
    health: number;
    failed: number;
    cpu: { bare: number; get: number; health: number };
  }> = [];
  for (let round = 0; round < ROUNDS; round++) {
    const bare = await h2load(echoUrl, getBody);
    const get = await profiled(`get-${round + 1}`, () => h2load(getUrl, getBody));
    // Where the gap is: the same server's grpc.health.v1 Check runs the kit's per-call work
    // (access log, metrics, tracing when on) with no handler work and no database.
    const health = await profiled(`health-${round + 1}`, () => h2load(healthUrl, healthBody));
    rounds.push({
      bare: bare.rps,
      get: get.rps,
      health: health.rps,
      failed: bare.total - bare.ok + (get.total - get.ok),
      cpu: { bare: bare.cpuUs, get: get.cpuUs, health: health.cpuUs },
    });
    console.log(
      `round ${round + 1}     echo ${fmt(bare.rps).padStart(7)}  GetAccount ${fmt(get.rps).padStart(7)}  Health ${fmt(health.rps).padStart(7)} RPC/s  (${get.ok}/${get.total} GetAccount 2xx)`,
    );
  }
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
  const bare = median(rounds.map((r) => r.bare));
  const get = median(rounds.map((r) => r.get));
  const health = median(rounds.map((r) => r.health));
  console.log(`bare echo   ${fmt(bare).padStart(8)} RPC/s (median of ${ROUNDS})`);
  console.log(`GetAccount  ${fmt(get).padStart(8)} RPC/s (median of ${ROUNDS})`);
  console.log(`ratio       ${fmt((100 * get) / bare, 1)} % of bare echo (target >= 70 %)`);
  console.log(
    `diagnosis   Health/Check on the same server: ${fmt(health)} RPC/s = ${fmt((100 * health) / bare, 1)} % of bare echo`,
  );
  // Less sensitive to other load on the machine than RPC/s: what each call costs this process.
  const cpu = (pick: (r: (typeof rounds)[number]) => number) => fmt(median(rounds.map(pick)), 1);
  console.log(
    `CPU/call    echo ${cpu((r) => r.cpu.bare)} µs, GetAccount ${cpu((r) => r.cpu.get)} µs, Health ${cpu((r) => r.cpu.health)} µs (this process, median)`,
  );
}

async function main(): Promise<void> {
  const devstack = await startDevstack();
  const config = loadServiceConfig({
    GRPC_HOST: '127.0.0.1',
    GRPC_PORT: '0',
    METRICS_PORT: '0',
    MONGODB_URI: devstack.mongoUri,
    MONGODB_DATABASE: `account_bench_${randomUUID().slice(0, 8)}`,
    KAFKA_BROKERS: devstack.brokers.join(','),
    TRACING_ENABLED: 'false',
    // 0 logs every GetAccount at info too (by default query calls log at debug unless slow).
    ...(process.env.BENCH_LOG_SLOW_QUERY_MS
      ? { LOG_SLOW_QUERY_MS: process.env.BENCH_LOG_SLOW_QUERY_MS }
      : {}),
  });
  // Logs at the service's default level (info: a line per money RPC plus its audit line; query
  // RPCs such as GetAccount only when slow) go to /dev/null, so their cost counts.
  // BENCH_LOG_LEVEL=warn shows what that cost is.
  const logLevel = process.env.BENCH_LOG_LEVEL ?? 'info';
  const logger = createLogger({
    service: 'account-service',
    level: logLevel,
    // The services' own line destination, pointed at /dev/null instead of stdout.
    destination: lineDestination('/dev/null'),
  });
  const service = await startAccountService(config, { logger });
  if (process.env.BENCH_NO_RELAY) await service.context.relay.stop();
  const { client, close } = createGrpcClient(accountV1.AccountServiceDefinition, {
    address: service.grpcAddress,
  });
  const echo = await startEchoServer();
  const work = mkdtempSync(join(tmpdir(), 'bench-account-'));

  try {
    console.log(
      `account-service bench: ${SECONDS}s per case, ${ACCOUNTS} accounts, log level ${logLevel} (successful query RPCs only from ${config.LOG_SLOW_QUERY_MS} ms), Node ${process.version}, ${cpus().length} cores, load average ${loadavg()
        .map((l) => l.toFixed(1))
        .join(' ')}`,
    );
    const ids: string[] = [];
    for (let i = 0; i < ACCOUNTS; i++) {
      const { account } = await client.openAccount({
        ownerName: `Bench ${i}`,
        email: `bench${i}@example.com`,
        currencyCode: 'EUR',
        // Room for any sequence of 1-unit transfers, so none fails for lack of funds.
        overdraftLimit: eur(1_000_000_000n),
      });
      ids.push(account!.id);
    }
    const pick = () => ids[Math.floor(Math.random() * ids.length)];

    // BENCH_ONLY=money or BENCH_ONLY=get runs one half.
    const only = process.env.BENCH_ONLY;
    if (only !== 'get') {
      await moneyRpcs(client, pick, service.metricsUrl);
      const floor = await transferFloor(devstack.mongoUri);
      console.log(
        `floor      ${'64'.padStart(9)} ${fmt(floor.rps).padStart(10)} ${fmt(floor.p50, 2).padStart(9)} ${fmt(floor.p99, 2).padStart(9)} ${String(floor.errors).padStart(7)}   <- the same writes as one Transfer, raw driver transaction, no service`,
      );
    }
    if (only !== 'money') {
      // Let the relay publish the money phase's events first, so it does not compete.
      const outbox = service.context.outbox.collection;
      const backlog = await outbox.countDocuments({ published_at: null });
      const t0 = performance.now();
      while ((await outbox.countDocuments({ published_at: null })) > 0) {
        if (performance.now() - t0 > 120_000) break;
        await new Promise((resolve) => setTimeout(resolve, 200));
      }
      if (backlog > 0) {
        console.log(
          `\nrelay: ${backlog} events left unpublished after the money phase, published in ${fmt((performance.now() - t0) / 1000, 1)} s`,
        );
      }
      await getAccountVsEcho(service.grpcAddress, ids[0], echo.port, work);
    }
    const childPeak = /VmHWM:\s+(\d+) kB/.exec(
      readFileSync(`/proc/${devstack.child.pid}/status`, 'utf8'),
    );
    console.log(
      `\npeak RSS    this process (service, client, echo) ${fmt(process.resourceUsage().maxRSS / 1024)} MB, devstack ${fmt(Number(childPeak?.[1]) / 1024)} MB`,
    );
  } finally {
    close();
    await echo.stop();
    await service.stop();
    devstack.child.kill('SIGTERM');
    rmSync(work, { recursive: true, force: true });
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
