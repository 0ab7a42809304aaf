import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { context, trace, type Span } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { BasicTracerProvider } from '@opentelemetry/sdk-trace-base';
import { createLogger, isoTime, lineDestination } from './create-logger';

function capture() {
  const lines: Array<Record<string, unknown>> = [];
  const raw: string[] = [];
  const destination = new Writable({
    write(chunk, _enc, done) {
      raw.push(chunk.toString());
      lines.push(JSON.parse(chunk.toString()));
      done();
    },
  });
  return { lines, raw, logger: createLogger({ service: 'test-svc', destination }) };
}

describe('createLogger', () => {
  it('writes JSON with the service name and level label', () => {
    const { logger, lines } = capture();
    logger.info({ account_id: 'a1' }, 'opened');
    expect(lines[0]).toMatchObject({
      service: 'test-svc',
      level: 'info',
      msg: 'opened',
      account_id: 'a1',
    });
  });

  it('redacts authorization metadata, passwords and email bodies at any depth', () => {
    const { logger, raw } = capture();
    logger.info(
      {
        metadata: { authorization: 'Bearer eyJhbGciOi.secret.sig', 'x-request-id': 'r1' },
        request: {
          user: { password: 'hunter2' },
          email: { subject: 'Hi', html: '<p>private</p>', text: 'private' },
        },
        smtp: 'smtp://mailer:s3cret-pass@mail.example.com:587',
      },
      'rpc with Bearer abc.def.ghi',
    );
    const line = raw[0];
    expect(line).not.toContain('eyJhbGciOi');
    expect(line).not.toContain('hunter2');
    expect(line).not.toContain('private');
    expect(line).not.toContain('s3cret-pass');
    expect(line).not.toContain('abc.def.ghi');
    expect(line).toContain('x-request-id');
    expect(line).toContain('Hi');
  });

  it('adds trace_id and span_id of the active span', () => {
    const manager = new AsyncLocalStorageContextManager().enable();
    context.setGlobalContextManager(manager);
    const tracer = new BasicTracerProvider().getTracer('test');
    const { logger, lines } = capture();
    let expected = { traceId: '', spanId: '' };
    tracer.startActiveSpan('op', (span: Span) => {
      expected = span.spanContext();
      logger.info('inside');
      span.end();
    });
    logger.info('outside');
    expect(lines[0].trace_id).toBe(expected.traceId);
    expect(lines[0].span_id).toBe(expected.spanId);
    expect(lines[1].trace_id).toBeUndefined();
    context.disable();
    expect(trace.getActiveSpan()).toBeUndefined();
  });

  it('strips inline credentials from the message and its format arguments', () => {
    const { logger, raw, lines } = capture();
    logger.info('connecting to mongodb://app:hunter2@db:27017/x');
    logger.info('connecting to %s as %s', 'amqp://svc:s3cret@mq/', 'svc@example.com');
    logger.info({ n: 1 }, 'Authorization: Bearer abc.def and %d retries', 3);
    expect(raw.join('')).not.toMatch(/hunter2|s3cret|abc\.def/);
    expect(lines.map((l) => l.msg)).toEqual([
      'connecting to mongodb://app:[REDACTED]@db:27017/x',
      'connecting to amqp://svc:[REDACTED]@mq/ as s***@example.com',
      'Authorization: Bearer [REDACTED] and 3 retries',
    ]);
  });

  it('formats messages without credentials as given', () => {
    const { logger, lines } = capture();
    logger.info('%s took %d ms', 'GetAccount', 12);
    logger.info({ id: 'a' }, 'user %s', 'ann');
    expect(lines.map((l) => l.msg)).toEqual(['GetAccount took 12 ms', 'user ann']);
  });

  it('masks every email address: fields, messages, interpolated arguments, errors, bindings', () => {
    const { logger, raw, lines } = capture();
    logger.warn(
      {
        'grpc.message': 'suppression nobody@example.com not found',
        to: ['Bob.Smith+x@mail.example.org'],
      },
      'rpc rejected',
    );
    logger.info('user %s@%s', 'ann', 'example.com');
    logger.error({ err: new Error('no contact carol@example.org') }, 'failed');
    logger.child({ recipient: 'dave@example.net' }).info('sent');
    logger.info('notification <n1@trellis> from Trellis <noreply@trellis.dev>');
    const all = raw.join('\n');
    for (const address of [
      'nobody@example.com',
      'Bob.Smith+x@mail.example.org',
      'ann@example.com',
      'carol@example.org',
      'dave@example.net',
      'noreply@trellis.dev',
    ])
      expect(all).not.toContain(address);
    expect(lines[0]['grpc.message']).toBe('suppression n***@example.com not found');
    expect(lines[0].to).toEqual(['B***@mail.example.org']);
    expect(lines[1].msg).toBe('user a***@example.com');
    expect((lines[2].err as { message: string }).message).toBe('no contact c***@example.org');
    expect(lines[3].recipient).toBe('d***@example.net');
    // A Message-ID's domain has no dot: ids stay readable.
    expect(lines[4].msg).toBe('notification <n1@trellis> from Trellis <n***@trellis.dev>');
  });

  it('writes the time as an ISO string, to the millisecond', () => {
    const { logger, lines } = capture();
    const before = Date.now();
    logger.info('now');
    const time = Date.parse(lines[0].time as string);
    expect(lines[0].time).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
    expect(time).toBeGreaterThanOrEqual(before);
    expect(time).toBeLessThanOrEqual(Date.now());
  });

  it('isoTime is what toISOString says, across milliseconds, seconds and years', () => {
    const now = jest.spyOn(Date, 'now');
    try {
      const base = Date.UTC(2024, 11, 31, 23, 59, 58, 990);
      const times = [0, 5, 5, 9, 10, 99, 100, 999, 1000, 1001, 1010, 1999, 2000, 2001].map(
        (d) => base + d,
      );
      times.push(Date.UTC(1969, 6, 20, 20, 17, 40, 7), 0, 1, 253402300800001);
      for (const t of times) {
        now.mockReturnValue(t);
        expect(isoTime()).toBe(`,"time":"${new Date(t).toISOString()}"`);
      }
    } finally {
      now.mockRestore();
    }
  });

  it('does not write trace fields into the object it is given', () => {
    const manager = new AsyncLocalStorageContextManager().enable();
    context.setGlobalContextManager(manager);
    const tracer = new BasicTracerProvider().getTracer('test');
    const { logger, lines } = capture();
    const fields = { id: 'a' };
    tracer.startActiveSpan('op', (span: Span) => {
      logger.info(fields, 'inside');
      span.end();
    });
    logger.info(fields, 'outside');
    expect(fields).toEqual({ id: 'a' });
    expect(lines[0]).toMatchObject({ id: 'a', trace_id: expect.any(String) });
    expect(lines[1].trace_id).toBeUndefined();
    context.disable();
  });

  it('keeps error messages and stacks', () => {
    const { logger, lines } = capture();
    logger.error({ err: new Error('boom') }, 'failed');
    expect(lines[0].err).toMatchObject({ type: 'Error', message: 'boom' });
    expect(String((lines[0].err as { stack: string }).stack)).toContain('boom');
  });

  it('writes stdout in blocks, yet a lone line shows within the flush after a write and the last ones at exit', async () => {
    const script = `
      const { createLogger } = require(${JSON.stringify(join(__dirname, 'create-logger.ts'))});
      const logger = createLogger({ service: 'flush-test', format: 'json' });
      const other = createLogger({ service: 'other', format: 'json' });
      logger.info('first');
      setTimeout(() => process.stderr.write('later\\n'), 800);
      setTimeout(() => { logger.info('last'); other.info('other'); process.exit(0); }, 1000);
    `;
    const child = spawn(process.execPath, ['--import', 'tsx', '-e', script]);
    const events: string[] = [];
    child.stdout.on('data', (d: Buffer) => {
      for (const line of d.toString().split('\n').filter(Boolean))
        events.push(String((JSON.parse(line) as { msg: string }).msg));
    });
    child.stderr.on('data', (d: Buffer) => {
      if (d.toString().includes('later')) events.push('(800 ms)');
    });
    const code = await new Promise((resolve) => child.on('close', resolve));
    expect(code).toBe(0);
    expect(events).toEqual(['first', '(800 ms)', 'last', 'other']);
  });

  it('shares one destination per target between loggers', () => {
    expect(lineDestination(1)).toBe(lineDestination(1));
  });
});
