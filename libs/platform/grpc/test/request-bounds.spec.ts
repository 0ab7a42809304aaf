import { readFileSync } from 'node:fs';
import { connect, type Settings } from 'node:http2';
import { join } from 'node:path';
import { BinaryWriter, WireType } from '@bufbuild/protobuf/wire';
import * as grpc from '@grpc/grpc-js';
import { ServerError, Status } from 'nice-grpc';
import { loadDescriptorSet } from '@trellis/contracts';
import { CreateJobRequest } from '@trellis/contracts/trellis/job/v1/job_service';
import { CreateContactRequest } from '@trellis/contracts/trellis/notification/v1/notification_service';
import { captureLogger, RawGrpcClient, waitFor } from '@trellis/platform/testing';
import type { BadRequest, ErrorInfo } from 'nice-grpc-error-details';
import { NotFoundError, ValidationError } from '@trellis/platform/errors';
import {
  createGrpcServer,
  INPUT_EXCERPT_CHARS,
  MAX_FIELD_VIOLATIONS,
  MAX_STATUS_TEXT,
  toServerError,
  type GrpcServer,
} from '../src';
import {
  DEFAULT_FIELD_LIMITS,
  MAX_REQUEST_DEPTH,
  requestGuards,
} from '../src/server/request-bounds';
import { EchoRequest, EchoServiceDefinition } from './gen/trellis/testing/v1/echo';

const trellis = requestGuards(loadDescriptorSet(), {
  'trellis.notification.v1.ContactIds.ids': { maxCount: 10_000 },
});
const guard = (path: string) => {
  const found = trellis.get(path);
  if (!found) throw new Error(`no guard for ${path}`);
  return found;
};
const GET_JOB = '/trellis.job.v1.JobService/GetJob';
const CREATE_JOB = '/trellis.job.v1.JobService/CreateJob';

/** `{a: {a: … value}}`, `levels` objects deep. */
function nested(levels: number, value: unknown = 1): Record<string, unknown> {
  let out: unknown = value;
  for (let i = 0; i < levels; i++) out = { a: out };
  return out as Record<string, unknown>;
}
const createJob = (partial: Parameters<typeof CreateJobRequest.fromPartial>[0]) =>
  CreateJobRequest.encode(CreateJobRequest.fromPartial({ type: 'demo.echo', ...partial })).finish();

describe('request bounds on the raw bytes (trellis descriptor set)', () => {
  it('refuses a 1 MiB id by name, without reading it', () => {
    const bytes = Buffer.concat([
      Buffer.from([0x0a, 0x80, 0x80, 0x40]),
      Buffer.alloc(1 << 20, 0x41),
    ]);
    expect(guard(GET_JOB).check(bytes)).toEqual({
      field: 'job_id',
      description: `is longer than ${DEFAULT_FIELD_LIMITS.identifier} characters`,
    });
  });

  it('refuses bytes that are not protobuf: a lone tag, a length past the end, a 10-byte tag', () => {
    const open = guard('/trellis.account.v1.AccountService/OpenAccount');
    expect(open.check(Buffer.from([0x0a]))?.description).toMatch(/^is not valid protobuf/);
    expect(open.check(Buffer.from([0x0a, 0x05, 0x41]))?.description).toMatch(/past the end/);
    expect(open.check(Buffer.alloc(10, 0xff))?.description).toMatch(/^is not valid protobuf/);
    expect(open.check(Buffer.from([0x0f, 0x00]))?.description).toMatch(/wire type 7/);
    expect(open.check(Buffer.from([0x0a, 0x02, 0xc3, 0x28]))).toEqual({
      field: 'owner_name',
      description: 'is not valid UTF-8',
    });
  });

  it(`refuses JSON nested deeper than ${MAX_REQUEST_DEPTH} levels, objects or arrays`, () => {
    const deep = guard(CREATE_JOB).check(createJob({ payload: nested(100) }));
    expect(deep?.description).toBe(`nests deeper than ${MAX_REQUEST_DEPTH} levels`);
    expect(deep?.field).toMatch(/^payload\["a"\]\["a"\].*…$/);
    let list: unknown = 1;
    for (let i = 0; i < 100; i++) list = [list];
    expect(guard(CREATE_JOB).check(createJob({ payload: { list } }))?.field).toMatch(
      /^payload\["list"\]\[0\]\[0\]/,
    );
    expect(guard(CREATE_JOB).check(createJob({ payload: nested(MAX_REQUEST_DEPTH - 3) }))).toBe(
      undefined,
    );
  });

  it('names the field inside JSON, maps and repeated fields', () => {
    const long = 'x'.repeat(DEFAULT_FIELD_LIMITS.mapKey + 1);
    expect(guard(CREATE_JOB).check(createJob({ payload: { a: { [long]: 1 } } }))).toEqual({
      field: 'payload["a"][#0].key',
      description: `is longer than ${DEFAULT_FIELD_LIMITS.mapKey} characters`,
    });
    const contact = CreateContactRequest.encode(
      CreateContactRequest.fromPartial({
        email: 'c@example.org',
        attributes: { plan: 'y'.repeat(DEFAULT_FIELD_LIMITS.text + 1) },
      }),
    ).finish();
    expect(
      guard('/trellis.notification.v1.NotificationService/CreateContact').check(contact),
    ).toEqual({ field: 'attributes["plan"]', description: 'is longer than 4096 characters' });
    const stats = guard('/trellis.job.v1.JobService/GetQueueStats');
    const types = (n: number) =>
      Buffer.concat(Array.from({ length: n }, () => Buffer.from([0x0a, 0x01, 0x61])));
    expect(stats.check(types(DEFAULT_FIELD_LIMITS.count))).toBe(undefined);
    expect(stats.check(types(DEFAULT_FIELD_LIMITS.count + 1))).toEqual({
      field: `types[${DEFAULT_FIELD_LIMITS.count}]`,
      description: `has more than ${DEFAULT_FIELD_LIMITS.count} elements`,
    });
  });

  it('counts characters, not bytes, and takes per-field limits over the defaults', () => {
    const key = (s: string) => guard(CREATE_JOB).check(createJob({ idempotencyKey: s }));
    expect(key('é'.repeat(128))).toBe(undefined);
    expect(key('é'.repeat(129))?.field).toBe('idempotency_key');
    const campaign = guard('/trellis.notification.v1.NotificationService/StartCampaign');
    const ids = Buffer.concat(Array.from({ length: 5_000 }, () => Buffer.from([0x0a, 0x01, 0x63])));
    const request = new BinaryWriter().tag(2, WireType.LengthDelimited).bytes(ids).finish();
    expect(campaign.check(request)).toBe(undefined);
    expect(() => requestGuards(loadDescriptorSet(), { 'trellis.job.v1.Nope.x': {} })).toThrow(
      /no such field/,
    );
  });

  it('refuses timestamps and durations outside the ranges their well-known types define', () => {
    const time = (field: number, seconds: bigint, nanos = 0) => {
      const inner = new BinaryWriter().uint32(8).int64(seconds).uint32(16).int32(nanos).finish();
      return new BinaryWriter().tag(field, WireType.LengthDelimited).bytes(inner).finish();
    };
    const listJobs = guard('/trellis.job.v1.JobService/ListJobs');
    expect(listJobs.check(time(5, 10n ** 15n))).toEqual({
      field: 'created_after.seconds',
      description: 'is outside 0001-01-01 to 9999-12-31',
    });
    expect(listJobs.check(time(6, -(10n ** 15n)))?.field).toBe('created_before.seconds');
    expect(listJobs.check(time(5, 0n, -1))?.field).toBe('created_after.nanos');
    expect(listJobs.check(time(5, -2208988800n, 999_999_999))).toBe(undefined); // 1900-01-01
    const claim = guard('/trellis.job.v1.JobService/ClaimJobs');
    expect(claim.check(time(4, 10n ** 12n))?.field).toBe('wait.seconds');
    expect(claim.check(time(4, -5n, -500))).toBe(undefined);
  });

  it('lets well-formed requests through, unknown fields included', () => {
    expect(guard(CREATE_JOB).check(createJob({ payload: { message: 'hi', n: [1, 2] } }))).toBe(
      undefined,
    );
    expect(guard(GET_JOB).check(Buffer.from([0x0a, 0x01, 0x41, 0xf8, 0x01, 0x05]))).toBe(undefined);
  });
});

describe('client input in replies is cut centrally', () => {
  it('status messages, violations and ErrorInfo metadata of domain errors', () => {
    const huge = 'q'.repeat(50_000);
    const notFound = toServerError(new NotFoundError('thing', huge));
    expect(notFound.details).toHaveLength(MAX_STATUS_TEXT + 1);
    expect(notFound.details.endsWith('…')).toBe(true);
    const invalid = toServerError(
      new ValidationError([{ field: huge, description: `bad ${huge}` }], 'X.Y', { value: huge }),
    );
    const [badRequest, errorInfo] = invalid.extra as [BadRequest, ErrorInfo];
    expect(badRequest.fieldViolations[0].field).toHaveLength(MAX_STATUS_TEXT + 1);
    expect(badRequest.fieldViolations[0].description).toHaveLength(MAX_STATUS_TEXT + 1);
    expect(errorInfo.metadata.value).toHaveLength(INPUT_EXCERPT_CHARS + 1);
  });
});

describe('request bounds in the server', () => {
  const descriptorSet = readFileSync(join(__dirname, 'gen', 'echo.binpb'));
  const ECHO = '/trellis.testing.v1.EchoService/Echo';
  let server: GrpcServer;
  let raw: RawGrpcClient;
  let address: string;
  let lines: Array<Record<string, unknown>>;
  let handled = 0;

  beforeAll(async () => {
    const captured = captureLogger('bounds-test');
    lines = captured.lines;
    server = createGrpcServer({ logger: captured.logger, descriptorSet });
    server.add(EchoServiceDefinition, {
      async echo(request) {
        handled++;
        if (request.message === 'one violation per element') {
          throw new ValidationError(
            Array.from({ length: 5_000 }, (_, i) => ({
              field: `ids[${i}]`,
              description: 'is not a valid contact id (expected a UUID)',
            })),
          );
        }
        return { message: request.message };
      },
      async fail() {
        throw new ServerError(Status.NOT_FOUND, `thing ${'z'.repeat(100_000)} not found`);
      },
    });
    address = `127.0.0.1:${await server.listen('127.0.0.1:0')}`;
    raw = new RawGrpcClient(address);
    server.setServing(true);
  });
  afterAll(async () => {
    raw.close();
    await server.shutdown();
  });

  it('answers an undecodable request INVALID_ARGUMENT, not INTERNAL, without calling the handler', async () => {
    const result = await raw.call(ECHO, Buffer.from([0x0a]));
    expect(result.code).toBe(Status.INVALID_ARGUMENT);
    expect(result.fieldViolations).toEqual([
      { field: 'message', description: expect.stringMatching(/^is not valid protobuf/) },
    ]);
    expect(handled).toBe(0);
    const line = await waitFor(() =>
      lines.find((l) => l['rpc.method'] === ECHO && l['grpc.code'] === 'INVALID_ARGUMENT'),
    );
    expect(line.msg).toBe('rpc rejected');
  });

  it('answers an oversized field with a short message naming it', async () => {
    const bytes = EchoRequest.encode({ message: 'm'.repeat(1 << 20), delayMs: 0 }).finish();
    const result = await raw.call(ECHO, bytes);
    expect(result).toMatchObject({
      code: Status.INVALID_ARGUMENT,
      details: `message: is longer than ${DEFAULT_FIELD_LIMITS.text} characters`,
    });
    expect(handled).toBe(0);
    expect(
      (await raw.call(ECHO, EchoRequest.encode({ message: 'ok', delayMs: 0 }).finish())).code,
    ).toBe(Status.OK);
  });

  it('answers INVALID_ARGUMENT for a method the descriptor set lacks (health here) when its decoder fails', async () => {
    const result = await raw.call('/grpc.health.v1.Health/Check', Buffer.from([0x0a, 0x09]));
    expect(result.code).toBe(Status.INVALID_ARGUMENT);
    expect(result.fieldViolations).toEqual([
      { field: 'request', description: expect.stringMatching(/^does not decode: /) },
    ]);
  });

  it('cuts a long status message a handler throws, in the reply and in the log', async () => {
    const result = await raw.call('/trellis.testing.v1.EchoService/Fail', Buffer.alloc(0));
    expect(result.code).toBe(Status.NOT_FOUND);
    expect(result.details.length).toBeLessThanOrEqual(257);
    expect(result.details.endsWith('…')).toBe(true);
    const line = await waitFor(() => lines.find((l) => l['grpc.code'] === 'NOT_FOUND'));
    expect(String(line['grpc.message']).length).toBeLessThanOrEqual(257);
  });

  it('offers HTTP/2 receive windows as large as the largest message, so one does not stall a connection', async () => {
    const session = connect(`http://${address}`);
    try {
      const settings = await new Promise<Settings>((resolve) =>
        session.once('remoteSettings', resolve),
      );
      expect(settings.initialWindowSize).toBeGreaterThan(4 * 1024 * 1024);
    } finally {
      session.close();
    }
  });

  it('answers a streaming call whose request does not decode INVALID_ARGUMENT too (health Watch)', async () => {
    const client = new grpc.Client(address, grpc.credentials.createInsecure());
    try {
      const code = await new Promise<number>((resolve) => {
        const call = client.makeServerStreamRequest(
          '/grpc.health.v1.Health/Watch',
          (b: Buffer) => b,
          (b: Buffer) => b,
          Buffer.from([0x0a]),
        );
        call.on('data', () => undefined);
        call.on('error', (err: grpc.ServiceError) => resolve(err.code));
      });
      expect(code).toBe(Status.INVALID_ARGUMENT);
    } finally {
      client.close();
    }
  });

  it('answers a validation error of 5,000 violations with the first ones, and its neighbours too', async () => {
    // Uncapped, its details trailer was over 64 KiB: this call and every call beside it on the
    // connection went unanswered until their deadlines.
    const many = EchoRequest.encode(
      EchoRequest.fromPartial({ message: 'one violation per element' }),
    ).finish();
    const plain = EchoRequest.encode(EchoRequest.fromPartial({ message: 'hi' })).finish();
    const [refused, ...neighbours] = await Promise.all([
      raw.call(ECHO, many, 10_000),
      ...Array.from({ length: 7 }, () => raw.call(ECHO, plain, 10_000)),
    ]);
    expect(refused.code).toBe(Status.INVALID_ARGUMENT);
    expect(refused.fieldViolations).toHaveLength(MAX_FIELD_VIOLATIONS);
    expect(refused.fieldViolations[0]).toEqual({
      field: 'ids[0]',
      description: 'is not a valid contact id (expected a UUID)',
    });
    expect(refused.details).toMatch(/\(5000 violations, the first 20 listed\)$/);
    expect(refused.details.length).toBeLessThanOrEqual(MAX_STATUS_TEXT + 1);
    expect(neighbours.map((n) => n.code)).toEqual(Array(7).fill(Status.OK));
  });
});
