/**
 * Hostile input against the whole system: every unary RPC of the three services gets a seeded
 * set of malformed, truncated, oversized, deeply nested and extreme-value messages as raw bytes,
 * each with a 1 s deadline. Prints requests and status codes per method, the largest log line,
 * and the per-call cost of the kit's request bounds. Asserts nothing (e2e/test/hostile-input
 * is the small version that does). The system runs in a child process (as under `npm start`), so
 * building multi-MiB requests here does not stall the servers' event loop.
 *
 *   npx tsx bench/hostile-input/run.ts     (BENCH_PER_METHOD, default 400; BENCH_SEED, default 18;
 *                                           BENCH_CONCURRENCY, default 16)
 */
import { cpus, loadavg } from 'node:os';
import { BinaryWriter, WireType } from '@bufbuild/protobuf/wire';
import { accountV1, loadDescriptorSet, requestLimits, serviceNames } from '@trellis/contracts';
import { CreateJobRequest } from '@trellis/contracts/trellis/job/v1/job_service';
import { SendEmailRequest } from '@trellis/contracts/trellis/notification/v1/notification_service';
import { TransferRequest } from '@trellis/contracts/trellis/account/v1/account_service';
import { createGrpcClient, requestGuards, statusName } from '@trellis/platform/grpc';
import {
  checkBooks,
  hostileRequests,
  RawGrpcClient,
  unaryMethods,
} from '@trellis/platform/testing';
import { spawnDevstack } from '../support/spawn-devstack';

const PER_METHOD = Number(process.env.BENCH_PER_METHOD ?? 400);
const SEED = Number(process.env.BENCH_SEED ?? 18);
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 16);
const DEADLINE_MS = 1_000;

/** µs per call of `fn`, best of 5 rounds of `n` calls. */
function perCall(n: number, fn: () => unknown): number {
  let best = Infinity;
  for (let round = 0; round < 5; round++) {
    const started = performance.now();
    for (let i = 0; i < n; i++) fn();
    best = Math.min(best, ((performance.now() - started) / n) * 1000);
  }
  return best;
}

function microBenchmark(): void {
  const guards = requestGuards(loadDescriptorSet(), requestLimits);
  const cases = [
    {
      path: '/trellis.job.v1.JobService/CreateJob',
      bytes: CreateJobRequest.encode(
        CreateJobRequest.fromPartial({
          type: 'demo.echo',
          payload: { message: 'hello', n: 3, tags: ['a', 'b'], nested: { ok: true } },
          idempotencyKey: 'bench-1',
        }),
      ).finish(),
      decode: (b: Uint8Array) => CreateJobRequest.decode(b),
    },
    {
      path: '/trellis.account.v1.AccountService/Transfer',
      bytes: TransferRequest.encode(
        TransferRequest.fromPartial({
          fromAccountId: 'acc_01HZZZZZZZZZZZZZZZZZZZZZZZ',
          toAccountId: 'acc_01HYYYYYYYYYYYYYYYYYYYYYYY',
          amount: { currencyCode: 'EUR', units: 2500n },
          idempotencyKey: 'transfer-1',
          reference: 'rent',
        }),
      ).finish(),
      decode: (b: Uint8Array) => TransferRequest.decode(b),
    },
    {
      path: '/trellis.notification.v1.NotificationService/SendEmail',
      bytes: SendEmailRequest.encode(
        SendEmailRequest.fromPartial({
          to: Array.from({ length: 100 }, (_, i) => `user${i}@example.org`),
          inline: { subject: 'Hello', textBody: 'x'.repeat(4_000) },
          idempotencyKey: 'mail-1',
        }),
      ).finish(),
      decode: (b: Uint8Array) => SendEmailRequest.decode(b),
    },
  ];
  console.log('\nPer-call cost of the request bounds (best of 5 × 100,000 calls):\n');
  console.log('| request | bytes | bounds check µs | ts-proto decode µs |');
  console.log('| ------- | ----: | --------------: | -----------------: |');
  for (const c of cases) {
    const guard = guards.get(c.path)!;
    const check = perCall(100_000, () => guard.check(c.bytes));
    const decode = perCall(100_000, () => c.decode(c.bytes));
    console.log(
      `| ${c.path.split('/')[2]} | ${c.bytes.length} | ${check.toFixed(2)} | ${decode.toFixed(2)} |`,
    );
  }
}

/** The reproducers, one at a time on an idle system: code, message length, time. */
async function reproducers(clients: Map<string, RawGrpcClient>): Promise<void> {
  const hugeId = Buffer.concat([
    Buffer.from([0x0a, 0x80, 0x80, 0x40]),
    Buffer.alloc(1 << 20, 0x41),
  ]);
  const field = (n: number, b: Uint8Array) =>
    new BinaryWriter().tag(n, WireType.LengthDelimited).bytes(b).finish();
  let value: Uint8Array = Uint8Array.of(0x11, 0, 0, 0, 0, 0, 0, 0xf0, 0x3f);
  let payload: Uint8Array = new Uint8Array(0);
  for (let i = 0; i < 100; i++) {
    payload = field(1, Buffer.concat([field(1, Buffer.from('a')), field(2, value)]));
    value = field(5, payload);
  }
  const deep = Buffer.concat([field(1, Buffer.from('demo.echo')), field(2, payload)]);
  const cases: Array<[string, string, Uint8Array]> = [
    ['1 MiB id', '/trellis.job.v1.JobService/GetJob', hugeId],
    ['1 MiB id', '/trellis.notification.v1.NotificationService/GetTemplate', hugeId],
    ['byte 0a', '/trellis.account.v1.AccountService/OpenAccount', Uint8Array.of(0x0a)],
    ['100-deep Value', '/trellis.job.v1.JobService/CreateJob', deep],
    ['100-deep Value', '/trellis.notification.v1.NotificationService/RenderTemplate', deep],
  ];
  console.log('\nReproducers (best of 5):\n');
  console.log('| case | method | code | message characters | ms |');
  console.log('| ---- | ------ | ---- | -----------------: | -: |');
  for (const [name, path, bytes] of cases) {
    const service = path.slice(1, path.indexOf('/', 1));
    let best = Infinity;
    let last = { code: 0, details: '' };
    for (let i = 0; i < 5; i++) {
      const started = performance.now();
      last = await clients.get(service)!.call(path, bytes, DEADLINE_MS);
      best = Math.min(best, performance.now() - started);
    }
    console.log(
      `| ${name} | ${path.split('/')[2]} | ${statusName(last.code)} | ${last.details.length} | ${best.toFixed(1)} |`,
    );
  }
}

async function main(): Promise<void> {
  console.log(
    `hostile-input bench: ${PER_METHOD} requests per method, seed ${SEED}, ${CONCURRENCY} in flight, ` +
      `deadline ${DEADLINE_MS} ms; Node ${process.version}, ${cpus().length} cores, load average ` +
      loadavg()
        .map((l) => l.toFixed(2))
        .join(' '),
  );
  microBenchmark();

  const { info: endpoints, process: child } = await spawnDevstack('system');
  let childOut = '';
  child.stdout?.on('data', (b: Buffer) => (childOut += b.toString()));
  const clients = new Map<string, RawGrpcClient>([
    [serviceNames.account, new RawGrpcClient(endpoints.account)],
    [serviceNames.job, new RawGrpcClient(endpoints.job)],
    [serviceNames.notification, new RawGrpcClient(endpoints.notification)],
  ]);
  const accounts = createGrpcClient(accountV1.AccountServiceDefinition, {
    address: endpoints.account,
  });
  try {
    const ids: string[] = [];
    for (const name of ['Bench A', 'Bench B']) {
      const { account } = await accounts.client.openAccount({
        ownerName: name,
        email: 'bench@example.org',
        currencyCode: 'EUR',
      });
      ids.push(account!.id);
      await accounts.client.deposit({
        accountId: account!.id,
        amount: { currencyCode: 'EUR', units: 1_000_000n },
        idempotencyKey: `bench-${name}`,
      });
    }
    const dictionary = [...ids, 'EUR', 'bench@example.org', 'welcome', 'demo.echo.nope'];

    await reproducers(clients);

    const methods = unaryMethods(loadDescriptorSet(), [
      serviceNames.account,
      serviceNames.job,
      serviceNames.notification,
    ]);
    const codes = new Map<string, Map<number, number>>();
    const tasks: Array<() => Promise<void>> = [];
    let slowest = 0;
    const missed: string[] = [];
    methods.forEach((method, m) => {
      const counts = new Map<number, number>();
      codes.set(method.path, counts);
      for (const request of hostileRequests(method.input, {
        seed: SEED * 1000 + m,
        count: PER_METHOD,
        dictionary,
        huge: true,
      })) {
        tasks.push(async () => {
          const started = performance.now();
          const { code } = await clients
            .get(method.service)!
            .call(method.path, request.bytes, DEADLINE_MS);
          slowest = Math.max(slowest, performance.now() - started);
          counts.set(code, (counts.get(code) ?? 0) + 1);
          if (statusName(code) === 'DEADLINE_EXCEEDED')
            missed.push(`${method.path} ${request.kind} ${request.bytes.length} bytes`);
        });
      }
    });
    const started = performance.now();
    let next = 0;
    await Promise.all(
      Array.from({ length: CONCURRENCY }, async () => {
        while (next < tasks.length) await tasks[next++]();
      }),
    );
    const seconds = (performance.now() - started) / 1000;

    const seen = [...new Set([...codes.values()].flatMap((c) => [...c.keys()]))].sort(
      (a, b) => a - b,
    );
    console.log(
      `\n${tasks.length} requests in ${seconds.toFixed(1)} s, slowest ${slowest.toFixed(0)} ms\n`,
    );
    console.log(`| method | requests | ${seen.map(statusName).join(' | ')} |`);
    console.log(`| ------ | -------: | ${seen.map(() => '--:').join(' | ')} |`);
    const totals = new Map<number, number>();
    for (const [path, counts] of codes) {
      let total = 0;
      for (const [code, n] of counts) {
        total += n;
        totals.set(code, (totals.get(code) ?? 0) + n);
      }
      console.log(
        `| ${path.split('/')[2]} | ${total} | ${seen.map((c) => counts.get(c) ?? 0).join(' | ')} |`,
      );
    }
    console.log(
      `| **all** | ${tasks.length} | ${seen.map((c) => totals.get(c) ?? 0).join(' | ')} |`,
    );
    for (const fault of ['INTERNAL', 'UNKNOWN', 'DEADLINE_EXCEEDED']) {
      const code = seen.find((c) => statusName(c) === fault);
      console.log(`${fault}: ${code === undefined ? 0 : totals.get(code)}`);
    }
    for (const line of missed) console.log(`  deadline exceeded: ${line}`);

    // Balances = ledgers after the storm.
    const { checked, unbalanced } = await checkBooks(
      accounts.client,
      accountV1.EntryDirection.ENTRY_DIRECTION_CREDIT,
    );
    const mismatched = unbalanced.length;
    console.log(`balances = ledgers: ${checked - mismatched} of ${checked} accounts`);
  } finally {
    accounts.close();
    clients.forEach((c) => c.close());
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGTERM');
    await exited;
  }
  const logs = /LOGS (\{.*\})/.exec(childOut);
  if (logs) {
    const { bytes, lines, longestLine } = JSON.parse(logs[1]) as Record<string, number>;
    console.log(
      `log: ${lines} lines, ${(bytes / 1024 / 1024).toFixed(1)} MiB, longest ${longestLine} characters`,
    );
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exitCode = 1;
});
