import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { context as otelContext, SpanKind, trace } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import {
  BasicTracerProvider,
  InMemorySpanExporter,
  SimpleSpanProcessor,
} from '@opentelemetry/sdk-trace-base';
import { ClientError, createChannel, createClient, Metadata, Status } from 'nice-grpc';
import { HealthDefinition } from 'nice-grpc-server-health/lib/proto/grpc/health/v1/health';
import { Registry } from 'prom-client';
import { NotFoundError } from '@trellis/platform/errors';
import { captureLogger, waitFor } from '@trellis/platform/testing';
import { callerOf, createGrpcClient, createGrpcServer, type GrpcServer } from '../src';
import { tracingObservable } from '../src/server/trace-context';
import {
  EchoRequest,
  EchoResponse,
  EchoServiceDefinition,
  type EchoServiceImplementation,
} from './gen/trellis/testing/v1/echo';

// Unary methods are registered on grpc-js directly (server/unary-handler.ts), not through
// nice-grpc's handlers: these tests pin down what handlers still get from the kit that way.

const descriptorSet = readFileSync(join(__dirname, 'gen', 'echo.binpb'));
const ECHO = '/trellis.testing.v1.EchoService/Echo';

/** What the handler saw, by request message. */
const seen = new Map<
  string,
  { aborted: boolean; caller?: string; peer: string; traceId?: string; header?: string }
>();
let running: Array<() => void> = [];

const echoService: EchoServiceImplementation = {
  async echo(request, context) {
    const entry = {
      aborted: false,
      caller: callerOf(context),
      peer: context.peer,
      traceId: trace.getActiveSpan()?.spanContext().traceId,
      header: context.metadata.get('x-test') as string | undefined,
    };
    seen.set(request.message, entry);
    if (request.message === 'headers') {
      context.header.set('x-echo-header', 'h');
      context.trailer.set('x-echo-trailer', 't');
    }
    if (request.delayMs > 0) {
      running.forEach((resolve) => resolve());
      running = [];
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(resolve, request.delayMs);
        context.signal.addEventListener('abort', () => {
          entry.aborted = true;
          clearTimeout(timer);
          reject(new Error('aborted'));
        });
      });
    }
    if (request.message === 'nothing') return undefined as never;
    return { message: request.message };
  },
  async fail() {
    throw new NotFoundError('thing', 't1');
  },
};

const handlerRunning = () => new Promise<void>((resolve) => running.push(resolve));

describe('unary calls on the lean path', () => {
  let server: GrpcServer;
  let address: string;
  let lines: Array<Record<string, unknown>>;
  let metrics: Registry;

  beforeAll(async () => {
    const captured = captureLogger('unary-test');
    lines = captured.lines;
    metrics = new Registry();
    server = createGrpcServer({ logger: captured.logger, metrics, descriptorSet });
    server.add(EchoServiceDefinition, echoService);
    address = `127.0.0.1:${await server.listen('127.0.0.1:0')}`;
    server.setServing(true);
  });
  afterAll(() => server.shutdown());

  it('a passed deadline aborts the handler signal; the caller gets DEADLINE_EXCEEDED; the call is logged', async () => {
    const { client, close } = createGrpcClient(EchoServiceDefinition, { address, maxAttempts: 1 });
    try {
      const error = (await client
        .echo({ message: 'deadline', delayMs: 5_000 }, { deadline: 200 })
        .catch((e: unknown) => e)) as ClientError;
      expect(error).toBeInstanceOf(ClientError);
      expect(error.code).toBe(Status.DEADLINE_EXCEEDED);
      await waitFor(() => seen.get('deadline')?.aborted || undefined, {
        what: 'the handler signal to abort',
      });
      const line = await waitFor(
        () => lines.find((l) => l['rpc.method'] === ECHO && l['grpc.code'] === 'CANCELLED'),
        { what: 'the access log line of the cancelled call' },
      );
      expect(line).toMatchObject({ msg: 'rpc rejected', 'rpc.system': 'grpc' });
    } finally {
      close();
    }
  });

  it('a client cancelling the call aborts the handler signal', async () => {
    const { client, close } = createGrpcClient(EchoServiceDefinition, { address, maxAttempts: 1 });
    const abort = new AbortController();
    try {
      const started = handlerRunning();
      const call = client
        .echo({ message: 'cancel', delayMs: 5_000 }, { signal: abort.signal })
        .catch((e: unknown) => e);
      await started;
      abort.abort();
      expect((await call) as Error).toHaveProperty('name', 'AbortError');
      await waitFor(() => seen.get('cancel')?.aborted || undefined, {
        what: 'the handler signal to abort',
      });
    } finally {
      close();
    }
  });

  it('handlers read request metadata and the peer, and send header and trailer metadata', async () => {
    const client = new grpc.Client(address, grpc.credentials.createInsecure());
    const metadata = new grpc.Metadata();
    metadata.set('x-test', 'from the client');
    const received: { header?: grpc.Metadata; trailer?: grpc.Metadata } = {};
    try {
      const response = await new Promise<EchoResponse>((resolve, reject) => {
        const call = client.makeUnaryRequest(
          ECHO,
          (req: EchoRequest) => Buffer.from(EchoRequest.encode(req).finish()),
          (bytes: Buffer) => EchoResponse.decode(bytes),
          EchoRequest.fromPartial({ message: 'headers' }),
          metadata,
          (err, res) => (err ? reject(err) : resolve(res!)),
        );
        call.on('metadata', (m) => (received.header = m));
        call.on('status', (s) => (received.trailer = s.metadata));
      });
      expect(response.message).toBe('headers');
      await waitFor(() => received.trailer, { what: 'the status' });
      expect(received.header?.get('x-echo-header')).toEqual(['h']);
      expect(received.trailer?.get('x-echo-trailer')).toEqual(['t']);
      expect(seen.get('headers')).toMatchObject({ header: 'from the client' });
      expect(seen.get('headers')?.peer).toMatch(/^127\.0\.0\.1:\d+$/);
    } finally {
      client.close();
    }
  });

  it('a caller cannot claim an identity through the internal caller header', async () => {
    const { client, close } = createGrpcClient(EchoServiceDefinition, { address });
    try {
      const metadata = Metadata({ 'x-trellis-caller': 'admin', 'x-trellis-peer-san': 'DNS:admin' });
      await client.echo({ message: 'spoof' }, { metadata });
      expect(seen.get('spoof')?.caller).toBeUndefined();
    } finally {
      close();
    }
  });

  it('a handler that returns nothing is an INTERNAL error with an error id', async () => {
    const { client, close } = createGrpcClient(EchoServiceDefinition, { address, maxAttempts: 1 });
    try {
      const error = (await client
        .echo({ message: 'nothing' })
        .catch((e: unknown) => e)) as ClientError;
      expect(error.code).toBe(Status.INTERNAL);
      expect(error.details).toMatch(/^internal error \(error id [0-9a-f-]{36}\)$/);
    } finally {
      close();
    }
  });

  it('counts every call in both RED metrics, by code', async () => {
    const { client, close } = createGrpcClient(EchoServiceDefinition, { address, maxAttempts: 1 });
    try {
      const before = await metrics.getSingleMetricAsString('rpc_server_requests_total');
      const count = (text: string, method: string, code: string) =>
        Number(
          new RegExp(
            `rpc_server_requests_total\\{rpc_service="trellis.testing.v1.EchoService",rpc_method="${method}",rpc_grpc_status_code="${code}"\\} (\\d+)`,
          ).exec(text)?.[1] ?? 0,
        );
      await client.echo({ message: 'counted' });
      await client.echo({ message: 'counted' });
      await client.fail({ kind: 'x' }).catch(() => undefined);
      const after = await metrics.getSingleMetricAsString('rpc_server_requests_total');
      expect(count(after, 'Echo', 'OK') - count(before, 'Echo', 'OK')).toBe(2);
      expect(count(after, 'Fail', 'NOT_FOUND') - count(before, 'Fail', 'NOT_FOUND')).toBe(1);
      const histogram = await metrics.getSingleMetricAsString('rpc_server_duration_seconds');
      expect(histogram).toMatch(
        /rpc_server_duration_seconds_count\{rpc_service="trellis.testing.v1.EchoService",rpc_method="Fail",rpc_grpc_status_code="NOT_FOUND"\} [1-9]/,
      );
      const rejected = await waitFor(() =>
        lines.find((l) => l['rpc.method'] === '/trellis.testing.v1.EchoService/Fail'),
      );
      expect(rejected).toMatchObject({
        level: 'warn',
        msg: 'rpc rejected',
        'grpc.code': 'NOT_FOUND',
        'grpc.message': 'thing t1 not found',
      });
    } finally {
      close();
    }
  });

  it('health Check keeps its own statuses (NOT_FOUND for an unknown service) and logs at debug', async () => {
    const channel = createChannel(address);
    const health = createClient(HealthDefinition, channel);
    try {
      const error = (await health
        .check({ service: 'no.such.Service' })
        .catch((e: unknown) => e)) as ClientError;
      expect(error.code).toBe(Status.NOT_FOUND);
      const line = await waitFor(() =>
        lines.find((l) => l['rpc.method'] === '/grpc.health.v1.Health/Check'),
      );
      expect(line).toMatchObject({ level: 'debug', 'grpc.code': 'NOT_FOUND' });
    } finally {
      channel.close();
    }
  });

  it('without a tracer provider or context manager no span is made and handlers see no trace', async () => {
    expect(tracingObservable()).toBe(false);
    const { client, close } = createGrpcClient(EchoServiceDefinition, { address });
    try {
      await client.echo({ message: 'untraced' });
      expect(seen.get('untraced')?.traceId).toBeUndefined();
    } finally {
      close();
    }
  });
});

describe('unary calls on the lean path: tracing', () => {
  it('records one SERVER span per call, child of the caller, with the status code', async () => {
    const exporter = new InMemorySpanExporter();
    otelContext.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
    trace.setGlobalTracerProvider(
      new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] }),
    );
    expect(tracingObservable()).toBe(true);
    const server = createGrpcServer({ logger: captureLogger('trace-test').logger, descriptorSet });
    server.add(EchoServiceDefinition, echoService);
    const address = `127.0.0.1:${await server.listen('127.0.0.1:0')}`;
    const { client, close } = createGrpcClient(EchoServiceDefinition, { address });
    try {
      const callerTrace = await trace.getTracer('test').startActiveSpan('caller', async (span) => {
        await client.echo({ message: 'traced' });
        await client.fail({ kind: 'x' }).catch(() => undefined);
        span.end();
        return span.spanContext().traceId;
      });
      expect(seen.get('traced')?.traceId).toBe(callerTrace);
      const servers = exporter.getFinishedSpans().filter((s) => s.kind === SpanKind.SERVER);
      expect(servers.map((s) => s.name).sort()).toEqual([
        'trellis.testing.v1.EchoService/Echo',
        'trellis.testing.v1.EchoService/Fail',
      ]);
      for (const span of servers) expect(span.spanContext().traceId).toBe(callerTrace);
      const failed = servers.find((s) => s.name.endsWith('/Fail'))!;
      expect(failed.attributes).toMatchObject({
        'rpc.system': 'grpc',
        'rpc.service': 'trellis.testing.v1.EchoService',
        'rpc.method': 'Fail',
        'rpc.grpc.status_code': Status.NOT_FOUND,
      });
      expect(failed.status.code).toBe(2); // SpanStatusCode.ERROR
    } finally {
      close();
      await server.shutdown();
      trace.disable();
      otelContext.disable();
    }
  });
});
