import { BinaryWriter, WireType } from '@bufbuild/protobuf/wire';
import { Status } from 'nice-grpc';
import {
  accountV1,
  healthV1,
  loadDescriptorSet,
  notificationV1,
  serviceNames,
} from '@trellis/contracts';
import {
  checkBooks,
  hostileRequests,
  RawGrpcClient,
  unaryMethods,
  type RawCallResult,
} from '@trellis/platform/testing';
import { startSystem, type E2eSystem } from './support';

// Every unary RPC of the three services gets a seeded set of malformed, truncated, oversized,
// deeply nested and extreme-value messages as raw bytes. Each call has a 1 s deadline, so "no call
// slower than 1 s" is "no DEADLINE_EXCEEDED". bench/hostile-input sends thousands more.
const SEED = 18;
const PER_METHOD = 60;
const DEADLINE_MS = 1_000;
const SERVER_FAULTS = [Status.INTERNAL, Status.UNKNOWN, Status.DEADLINE_EXCEEDED];

let system: E2eSystem;
const raw = new Map<string, RawGrpcClient>();
beforeAll(async () => {
  system = await startSystem();
  const { account, job, notification } = system.devstack.endpoints;
  raw.set(serviceNames.account, new RawGrpcClient(account));
  raw.set(serviceNames.job, new RawGrpcClient(job));
  raw.set(serviceNames.notification, new RawGrpcClient(notification));
}, 120_000);
afterAll(async () => {
  raw.forEach((client) => client.close());
  await system?.stop();
});

const client = (service: string) => raw.get(service)!;
const methods = () =>
  unaryMethods(loadDescriptorSet(), [
    serviceNames.account,
    serviceNames.job,
    serviceNames.notification,
  ]);

/** Runs `tasks` with at most `limit` in flight. */
async function inParallel(tasks: Array<() => Promise<void>>, limit: number): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < tasks.length) await tasks[next++]();
  };
  await Promise.all(Array.from({ length: limit }, worker));
}

describe('hostile input at the edge', () => {
  it('the must-show reproducers: a 1 MiB id, one byte to OpenAccount, a 100-deep Value', async () => {
    const hugeId = Buffer.concat([
      Buffer.from([0x0a, 0x80, 0x80, 0x40]),
      Buffer.alloc(1 << 20, 0x41),
    ]);
    for (const path of [
      '/trellis.job.v1.JobService/GetJob',
      '/trellis.notification.v1.NotificationService/GetTemplate',
      '/trellis.account.v1.AccountService/GetAccount',
    ]) {
      const result = await client(path.slice(1, path.indexOf('/', 1))).call(path, hugeId);
      expect(result.code).toBe(Status.INVALID_ARGUMENT);
      expect(result.details.length).toBeLessThan(200);
      expect(result.fieldViolations).toHaveLength(1);
    }
    const oneByte = await client(serviceNames.account).call(
      '/trellis.account.v1.AccountService/OpenAccount',
      Buffer.from([0x0a]),
    );
    expect(oneByte.code).toBe(Status.INVALID_ARGUMENT);

    // CreateJobRequest{type: "demo.echo", payload: {a: {a: … 100 deep}}}
    const key = field(1, Buffer.from('a'));
    let value: Buffer = Buffer.from([0x11, 0, 0, 0, 0, 0, 0, 0xf0, 0x3f]); // Value{number_value: 1}
    let payload: Buffer = Buffer.alloc(0);
    for (let i = 0; i < 100; i++) {
      payload = field(1, Buffer.concat([key, field(2, value)])); // Struct{fields: {a: value}}
      value = field(5, payload); // Value{struct_value: payload}
    }
    const deep = Buffer.concat([field(1, Buffer.from('demo.echo')), field(2, payload)]);
    const result = await client(serviceNames.job).call(
      '/trellis.job.v1.JobService/CreateJob',
      deep,
    );
    expect(result.code).toBe(Status.INVALID_ARGUMENT);
    expect(result.fieldViolations[0].description).toBe('nests deeper than 32 levels');
  });

  it('a StartCampaign with 1,001 malformed contact ids is answered, and so is every call beside it', async () => {
    // One field violation per id made a details trailer HTTP/2 would not send: the call and all
    // the calls in flight beside it on the connection missed their deadlines.
    const start = (request: Partial<notificationV1.StartCampaignRequest>) =>
      notificationV1.StartCampaignRequest.encode(
        notificationV1.StartCampaignRequest.fromPartial(request),
      ).finish();
    const path = '/trellis.notification.v1.NotificationService/StartCampaign';
    const [hostile, ...beside] = await Promise.all([
      client(serviceNames.notification).call(
        path,
        start({ templateId: 'welcome', contactIds: { ids: Array(1_001).fill('NaN') } }),
        DEADLINE_MS,
      ),
      ...Array.from({ length: 7 }, () =>
        client(serviceNames.notification).call(
          path,
          start({ templateId: 'NOT AN ID', emailDomain: 'example.com' }),
          DEADLINE_MS,
        ),
      ),
    ]);
    expect(hostile.code).toBe(Status.INVALID_ARGUMENT);
    expect(hostile.fieldViolations[0].field).toBe('contact_ids.ids[0]');
    expect(beside.map((r) => r.code)).toEqual(Array(7).fill(Status.INVALID_ARGUMENT));
  });

  it('every RPC answers seeded garbage without INTERNAL, UNKNOWN or a missed 1 s deadline; the books still balance', async () => {
    const accounts = system.client(
      accountV1.AccountServiceDefinition,
      system.devstack.endpoints.account,
    );
    const ids: string[] = [];
    for (const name of ['Fuzz A', 'Fuzz B']) {
      const { account } = await accounts.openAccount({
        ownerName: name,
        email: 'fuzz@example.org',
        currencyCode: 'EUR',
      });
      ids.push(account!.id);
      await accounts.deposit({
        accountId: account!.id,
        amount: { currencyCode: 'EUR', units: 10_000n },
        idempotencyKey: `fuzz-seed-${name}`,
      });
    }
    const dictionary = [...ids, 'EUR', 'fuzz@example.org', 'welcome', 'demo.echo.nope'];

    const faults: string[] = [];
    const tasks: Array<() => Promise<void>> = [];
    const all = methods();
    expect(all.length).toBeGreaterThanOrEqual(41);
    all.forEach((method, m) => {
      for (const request of hostileRequests(method.input, {
        seed: SEED * 1000 + m,
        count: PER_METHOD,
        dictionary,
      })) {
        tasks.push(async () => {
          const result: RawCallResult = await client(method.service).call(
            method.path,
            request.bytes,
            DEADLINE_MS,
          );
          if (SERVER_FAULTS.includes(result.code))
            faults.push(`${method.path} ${request.kind} → ${result.code} ${result.details}`);
        });
      }
    });
    await inParallel(tasks, 8);
    expect(faults).toEqual([]);

    for (const [service, address] of Object.entries(system.devstack.endpoints)) {
      if (!['account', 'job', 'notification'].includes(service)) continue;
      const health = system.client(healthV1.HealthDefinition, address as string);
      expect(await health.check({ service: '' })).toEqual({
        status: healthV1.HealthCheckResponse_ServingStatus.SERVING,
      });
    }

    // Balances = ledgers: every account's entries sum to its balance.
    const { checked, unbalanced } = await checkBooks(
      accounts,
      accountV1.EntryDirection.ENTRY_DIRECTION_CREDIT,
    );
    expect(unbalanced).toEqual([]);
    expect(checked).toBeGreaterThanOrEqual(2);
  }, 120_000);
});

/** A length-delimited field. */
const field = (number: number, bytes: Uint8Array): Buffer =>
  Buffer.from(new BinaryWriter().tag(number, WireType.LengthDelimited).bytes(bytes).finish());
