import { isSecretKey, maskEmails, MAX_LOG_STRING, redact, REDACTED } from './redact';

describe('maskEmails', () => {
  it('keeps the first character and the domain of each address, and is idempotent', () => {
    const text = '"to":["ann@example.com","o\'brien.x+tag@sub.example.co.uk"] ok';
    const masked = maskEmails(text);
    expect(masked).toBe('"to":["a***@example.com","o***@sub.example.co.uk"] ok');
    expect(maskEmails(masked)).toBe(masked);
    const clean = 'no address here: rpc /a.B/C 12 ms';
    expect(maskEmails(clean)).toBe(clean);
  });
});

describe('redact', () => {
  it('passes a clean log object through without copying it', () => {
    const fields = {
      'rpc.method': '/a.B/C',
      'grpc.code': 'OK',
      duration_ms: 1.5,
      nested: { id: 'x' },
    };
    expect(redact(fields)).toBe(fields);
  });

  it('copies and redacts when a secret key or an inline credential appears at any depth', () => {
    const fields = {
      a: { b: { token: 't' } },
      url: 'amqp://user:pw@host/',
      list: [{ password: 'p' }],
    };
    expect(redact(fields)).toEqual({
      a: { b: { token: REDACTED } },
      url: 'amqp://user:[REDACTED]@host/',
      list: [{ password: REDACTED }],
    });
    expect(fields.a.b.token).toBe('t');
  });

  it('survives cycles', () => {
    const cyclic: Record<string, unknown> = { secret: 's' };
    cyclic.self = cyclic;
    expect(redact(cyclic)).toEqual({ secret: REDACTED, self: '[Circular]' });
  });
});

describe('isSecretKey', () => {
  const spellings = [
    'password',
    'Password',
    'PASSWORD',
    'api_key',
    'API-KEY',
    'apiKey',
    'set-cookie',
    'Set_Cookie',
    'x',
  ];
  /** Whether each of `spellings` names a secret. */
  const secret = [true, true, true, true, true, true, true, true, false];

  it('matches any case and spelling, asked once or many times', () => {
    for (let round = 0; round < 3; round++) {
      expect(spellings.map(isSecretKey)).toEqual(secret);
    }
  });

  it('still answers right once more distinct keys were asked than it remembers', () => {
    for (let i = 0; i < 5_000; i++) expect(isSecretKey(`field_${i}`)).toBe(false);
    for (let i = 0; i < 5_000; i++)
      expect(isSecretKey(i % 2 ? `Access_Token` : `accessToken`)).toBe(true);
    expect(spellings.map(isSecretKey)).toEqual(secret);
    expect(redact({ 'Client-Secret': 'c', Authorization: 'a', ok: 1 })).toEqual({
      'Client-Secret': REDACTED,
      Authorization: REDACTED,
      ok: 1,
    });
  });

  it('cuts a string too long to log whole, in fields and in error messages, and says so', () => {
    const huge = 'A'.repeat(1024 * 1024);
    const out = redact({ id: huge, err: new Error(`job ${huge} not found`) }) as {
      id: string;
      err: Error;
    };
    expect(out.id).toBe(
      `${'A'.repeat(MAX_LOG_STRING)}… (${huge.length - MAX_LOG_STRING} more characters)`,
    );
    expect(out.err.message.length).toBeLessThan(MAX_LOG_STRING + 50);
    expect(out.err.stack!.length).toBeLessThan(MAX_LOG_STRING + 50);
  });
});
