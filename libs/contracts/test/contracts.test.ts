import { existsSync } from 'node:fs';
import { fromBinary } from '@bufbuild/protobuf';
import { FileDescriptorSetSchema } from '@bufbuild/protobuf/wkt';
import {
  ERROR_DOMAIN,
  accountV1,
  commonV1,
  decodeEventEnvelope,
  descriptorSetPath,
  encodeEventEnvelope,
  errorReasonString,
  eventTypes,
  jobV1,
  loadDescriptorSet,
  packEvent,
  parseErrorReason,
  serviceNames,
  unpackEvent,
} from '../src';

describe('generated messages', () => {
  it('round-trips a TransferRequest with int64 units beyond 2^53 as bigint', () => {
    const request: accountV1.TransferRequest = {
      fromAccountId: 'acc-1',
      toAccountId: 'acc-2',
      amount: { currencyCode: 'EUR', units: 9_007_199_254_740_993n },
      idempotencyKey: 'key-1',
      reference: 'rent',
    };
    const bytes = accountV1.TransferRequest.encode(request).finish();
    const decoded = accountV1.TransferRequest.decode(bytes);
    expect(decoded).toEqual(request);
    expect(typeof decoded.amount?.units).toBe('bigint');
    // Canonical protobuf JSON: int64 as a string, camelCase names.
    expect(accountV1.TransferRequest.toJSON(request)).toMatchObject({
      amount: { currencyCode: 'EUR', units: '9007199254740993' },
    });
  });

  it('maps Struct to plain JSON and Timestamp to Date', () => {
    const runAt = new Date('2026-01-02T03:04:05.678Z');
    const job: jobV1.CreateJobRequest = {
      type: 'email.campaign',
      payload: { campaignId: 'c1', batch: 100, nested: { ok: true, list: ['a', null] } },
      priority: 5,
      runAt,
      maxAttempts: 3,
      idempotencyKey: '',
    };
    const decoded = jobV1.CreateJobRequest.decode(jobV1.CreateJobRequest.encode(job).finish());
    expect(decoded.payload).toEqual(job.payload);
    expect(decoded.runAt).toEqual(runAt);
  });
});

describe('descriptor set', () => {
  it('exists and lists every service, with google.protobuf imports included', () => {
    expect(existsSync(descriptorSetPath)).toBe(true);
    const set = fromBinary(FileDescriptorSetSchema, loadDescriptorSet());
    const services = set.file.flatMap((f) => f.service.map((s) => `${f.package}.${s.name}`));
    expect(services).toEqual(
      expect.arrayContaining([
        'trellis.account.v1.AccountService',
        'trellis.job.v1.JobService',
        'trellis.notification.v1.NotificationService',
        'grpc.health.v1.Health',
      ]),
    );
    expect(Object.values(serviceNames).sort()).toEqual(
      [...services].filter((s) => s.startsWith('trellis.') || s.startsWith('grpc.')).sort(),
    );
    const files = set.file.map((f) => f.name);
    expect(files).toEqual(
      expect.arrayContaining(['google/protobuf/timestamp.proto', 'google/protobuf/struct.proto']),
    );
  });

  it('registers every event message of the events.proto files', () => {
    const set = fromBinary(FileDescriptorSetSchema, loadDescriptorSet());
    const helperMessages = new Set(['trellis.account.v1.TransferParty']);
    const declared = set.file
      .filter((f) => f.name.endsWith('/events.proto'))
      .flatMap((f) => f.messageType.map((m) => `${f.package}.${m.name}`))
      .filter((name) => !helperMessages.has(name))
      .sort();
    expect(Object.keys(eventTypes).sort()).toEqual(declared);
  });
});

describe('events', () => {
  it('packs, serializes and unpacks an event envelope', () => {
    const occurredAt = new Date('2026-11-21T12:00:00.000Z');
    const envelope = packEvent(
      'trellis.account.v1.TransferCompleted',
      {
        transactionId: 'tx-1',
        from: {
          accountId: 'a',
          ownerName: 'Ada',
          email: 'ada@example.com',
          balanceAfter: { currencyCode: 'EUR', units: -5n },
        },
        to: {
          accountId: 'b',
          ownerName: 'Bob',
          email: 'bob@example.com',
          balanceAfter: { currencyCode: 'EUR', units: 5n },
        },
        amount: { currencyCode: 'EUR', units: 5n },
        reference: '',
        completedAt: occurredAt,
      },
      { eventId: '7d4e', occurredAt, aggregateId: 'a', aggregateType: 'account' },
    );
    expect(envelope.payload?.typeUrl).toBe(
      'type.googleapis.com/trellis.account.v1.TransferCompleted',
    );
    const decoded = unpackEvent(decodeEventEnvelope(encodeEventEnvelope(envelope)));
    if (decoded.eventType !== 'trellis.account.v1.TransferCompleted') throw new Error('type');
    expect(decoded.payload.to?.email).toBe('bob@example.com');
    expect(decoded.payload.from?.balanceAfter?.units).toBe(-5n);
  });

  it('an event whose encoding fails halfway leaves the next one intact, and encoded events stay as they were', () => {
    const occurredAt = new Date('2026-11-21T12:00:00.000Z');
    const metadata = { eventId: 'e1', occurredAt, aggregateId: 'a', aggregateType: 'account' };
    const opened = (email: string) =>
      packEvent(
        'trellis.account.v1.AccountOpened',
        { accountId: 'a', ownerName: 'Ada', email, currencyCode: 'EUR', openedAt: occurredAt },
        metadata,
      );
    const first = encodeEventEnvelope(opened('ada@example.com'));
    const copy = Buffer.from(first);
    // The amount's units are not an integer: the writer throws inside the nested message.
    expect(() =>
      packEvent(
        'trellis.account.v1.FundsDeposited',
        {
          transactionId: 't1',
          accountId: 'a',
          amount: { currencyCode: 'EUR', units: 'many' as unknown as bigint },
          reference: '',
          ownerName: 'Ada',
          email: 'ada@example.com',
        },
        metadata,
      ),
    ).toThrow();
    expect(encodeEventEnvelope(opened('ada@example.com'))).toEqual(copy);
    encodeEventEnvelope(opened('someone.else@example.com'));
    expect(first).toEqual(copy);
    const decoded = unpackEvent(decodeEventEnvelope(first));
    if (decoded.eventType !== 'trellis.account.v1.AccountOpened') throw new Error('type');
    expect(decoded.payload.email).toBe('ada@example.com');
  });

  it('rejects unknown event types', () => {
    expect(() =>
      unpackEvent({ eventId: 'x', eventType: 'nope.V1', aggregateId: '', aggregateType: '' }),
    ).toThrow(/unknown event type/);
  });
});

describe('error reasons', () => {
  it('maps enum values to ErrorInfo reason strings and back', () => {
    expect(ERROR_DOMAIN).toBe('trellis.dev');
    const reason = commonV1.ErrorReason.ERROR_REASON_IDEMPOTENCY_KEY_REUSED;
    expect(errorReasonString(reason)).toBe('IDEMPOTENCY_KEY_REUSED');
    expect(parseErrorReason('INSUFFICIENT_FUNDS')).toBe(
      commonV1.ErrorReason.ERROR_REASON_INSUFFICIENT_FUNDS,
    );
    expect(parseErrorReason('NOT_A_REASON')).toBeUndefined();
  });
});
