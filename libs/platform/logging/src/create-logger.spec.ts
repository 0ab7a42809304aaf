import { Writable } from 'node:stream';
import { context, trace, type Span } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { BasicTracerProvider } from '@opentelemetry/sdk-trace-base';
import { createLogger } from './create-logger';

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

  it('keeps error messages and stacks', () => {
    const { logger, lines } = capture();
    logger.error({ err: new Error('boom') }, 'failed');
    expect(lines[0].err).toMatchObject({ type: 'Error', message: 'boom' });
    expect(String((lines[0].err as { stack: string }).stack)).toContain('boom');
  });
});
