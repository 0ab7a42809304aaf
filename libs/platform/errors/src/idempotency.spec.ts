import { createHash } from 'node:crypto';
import { AbortedError } from './domain-error';
import {
  canonicalJson,
  idempotencyKeyReused,
  idempotencyKeyViolation,
  replayable,
  validIdempotencyKey,
  requestHash,
  sameRequest,
} from './idempotency';

describe('request hashing', () => {
  it('ignores key order and undefined members, keeps array order', () => {
    expect(canonicalJson({ b: 1, a: { d: [2, 1], c: undefined } })).toBe('{"a":{"d":[2,1]},"b":1}');
    expect(requestHash({ b: 1, a: [1, 2] })).toBe(requestHash({ a: [1, 2], b: 1 }));
    expect(requestHash({ a: [1, 2] })).not.toBe(requestHash({ a: [2, 1] }));
    expect(canonicalJson([new Date(0), undefined])).toBe('["1970-01-01T00:00:00.000Z",null]');
  });

  it('is sha256 base64url of the canonical JSON, as account and job records stored it', () => {
    // Both hashed `JSON.stringify([operation, ...fields])` of plain values before; the same text.
    const legacy = createHash('sha256')
      .update(JSON.stringify(['Deposit', 'acc', 'EUR', '5', '']))
      .digest('base64url');
    expect(requestHash(['Deposit', 'acc', 'EUR', '5', ''])).toBe(legacy);
  });

  it('matches a stored hash in either encoding (hex: notification records before sharing)', () => {
    const request = { to: ['a@x.test'], cc: [] };
    const hash = requestHash(request);
    const hex = createHash('sha256').update(canonicalJson(request)).digest('hex');
    expect(sameRequest(hash, hash)).toBe(true);
    expect(sameRequest(hex, hash)).toBe(true);
    expect(sameRequest(hex, requestHash({ to: ['b@x.test'], cc: [] }))).toBe(false);
    expect(sameRequest(requestHash({ to: [] }), hash)).toBe(false);
  });
});

describe('idempotency keys', () => {
  it('are 1-128 printable ASCII characters, empty allowed only when optional', () => {
    expect(idempotencyKeyViolation('idempotency_key', 'k-1 ~', true)).toBeUndefined();
    expect(idempotencyKeyViolation('idempotency_key', 'k'.repeat(128), true)).toBeUndefined();
    expect(idempotencyKeyViolation('idempotency_key', '', false)).toBeUndefined();
    expect(idempotencyKeyViolation('idempotency_key', '', true)).toEqual({
      field: 'idempotency_key',
      description: 'is required',
    });
    for (const bad of ['k'.repeat(129), 'bad\nkey', 'clé'])
      expect(idempotencyKeyViolation('jobs[1].idempotency_key', bad, false)).toEqual({
        field: 'jobs[1].idempotency_key',
        description: 'must be 1-128 printable ASCII characters',
      });
  });

  it('are returned when valid, refused with INVALID_ARGUMENT naming the field otherwise', () => {
    expect(validIdempotencyKey('idempotency_key', 'k', true)).toBe('k');
    expect(validIdempotencyKey('idempotency_key', '', false)).toBe('');
    expect(() => validIdempotencyKey('idempotency_key', '', true)).toThrow(
      'idempotency_key: is required',
    );
  });

  it('replays the record of the same request and refuses another request', () => {
    const record = { requestHash: requestHash(['a']), id: 7 };
    expect(replayable(record, requestHash(['a']), 'JOB', 'k')).toBe(record);
    let error: unknown;
    try {
      replayable(record, requestHash(['b']), 'JOB', 'k');
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(AbortedError);
    expect(error).toMatchObject({
      code: 'JOB.IDEMPOTENCY_KEY_REUSED',
      reason: 'IDEMPOTENCY_KEY_REUSED',
      metadata: { idempotency_key: 'k' },
    });
    expect(idempotencyKeyReused('ACCOUNT', 'k').code).toBe('ACCOUNT.IDEMPOTENCY_KEY_REUSED');
  });
});
