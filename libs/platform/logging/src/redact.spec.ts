import { redact, REDACTED } from './redact';

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
