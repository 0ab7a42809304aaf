import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { ClientError, createChannel, createClient, Status } from 'nice-grpc';
import { BadRequest, ErrorInfo, RetryInfo, RichClientError } from 'nice-grpc-error-details';
import { Status as RpcStatus } from 'nice-grpc-error-details/lib/proto/google/rpc/status';
import {
  HealthDefinition,
  HealthCheckResponse_ServingStatus as Serving,
} from 'nice-grpc-server-health/lib/proto/grpc/health/v1/health';
import { trace } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { BasicTracerProvider } from '@opentelemetry/sdk-trace-base';
import { Registry } from 'prom-client';
import {
  NotFoundError,
  PreconditionFailedError,
  RateLimitedError,
  ValidationError,
} from '@trellis/platform/errors';
import { bufCurl, captureLogger, waitFor } from '@trellis/platform/testing';
import {
  createGrpcClient,
  createGrpcServer,
  logAsIdle,
  rpcStatusError,
  rpcStatusOf,
  type GrpcServer,
} from '../src';
import {
  EchoRequest,
  EchoResponse,
  EchoServiceDefinition,
  FailRequest,
  FailResponse,
  type EchoServiceImplementation,
} from './gen/trellis/testing/v1/echo';

const descriptorSet = readFileSync(join(__dirname, 'gen', 'echo.binpb'));

/** Resolvers for tests that wait until a slow call is running inside the handler. */
const slowCallStarted: Array<() => void> = [];
function nextSlowCall(): Promise<void> {
  return new Promise((resolve) => slowCallStarted.push(resolve));
}

const echoService: EchoServiceImplementation = {
  async echo(request, context) {
    if (request.delayMs > 0) {
      slowCallStarted.shift()?.();
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(resolve, request.delayMs);
        context.signal.addEventListener('abort', () => {
          clearTimeout(timer);
          reject(new Error('aborted'));
        });
      });
    }
    return { message: request.message };
  },
  async fail(request) {
    if (request.kind === 'trace') {
      // Reports the trace the handler runs in, through the error message.
      throw new NotFoundError('trace', trace.getActiveSpan()?.spanContext().traceId ?? 'none');
    }
    switch (request.kind) {
      case 'validation':
        throw new ValidationError([
          { field: 'amount.units', description: 'must be greater than 0' },
        ]);
      case 'not_found':
        throw new NotFoundError('account', 'acc_1');
      case 'precondition':
        throw new PreconditionFailedError('ACCOUNT.INSUFFICIENT_FUNDS', 'balance too low', {
          account_id: 'acc_1',
        });
      case 'rate_limited':
        throw new RateLimitedError(1500);
      default:
        throw new Error('the disk is on fire at /var/lib/secret-internal-path');
    }
  },
};

async function startServer(shutdownGraceMs = 5_000) {
  const captured = captureLogger('kit-test');
  const metrics = new Registry();
  const server = createGrpcServer({
    logger: captured.logger,
    metrics,
    descriptorSet,
    shutdownGraceMs,
  });
  server.add(EchoServiceDefinition, echoService);
  const port = await server.listen('127.0.0.1:0');
  return { server, port, address: `127.0.0.1:${port}`, metrics, ...captured };
}

describe('gRPC kit: a server checked with clients nobody here wrote', () => {
  let server: GrpcServer;
  let address: string;
  let lines: Array<Record<string, unknown>>;
  let metrics: Registry;

  beforeAll(async () => {
    ({ server, address, lines, metrics } = await startServer());
    server.setServing(true);
  });
  afterAll(() => server.shutdown());

  it('buf curl lists the services through reflection: only those this server registered', async () => {
    const result = await bufCurl(['--list-services', `http://${address}`]);
    expect(result.stderr).toBe('');
    // The descriptor set also declares UnservedService; this server never registered it.
    expect(result.stdout.trim().split('\n')).toEqual(['trellis.testing.v1.EchoService']);
  });

  it('reflection does not describe a service of the descriptor set this server does not serve', async () => {
    const result = await bufCurl([
      '-d',
      '{}',
      `http://${address}/trellis.testing.v1.UnservedService/Ping`,
    ]);
    expect(result.exitCode).not.toBe(0);
    expect(result.stderr).toContain('trellis.testing.v1.UnservedService');
    expect(result.stdout).toBe('');
  });

  it('buf curl lists the methods through reflection', async () => {
    const result = await bufCurl(['--list-methods', `http://${address}`]);
    expect(result.stdout.split('\n')).toEqual(
      expect.arrayContaining([
        'trellis.testing.v1.EchoService/Echo',
        'trellis.testing.v1.EchoService/Fail',
      ]),
    );
  });

  it('buf curl calls a method with a JSON body', async () => {
    const result = await bufCurl([
      '-d',
      '{"message":"hello from buf"}',
      `http://${address}/trellis.testing.v1.EchoService/Echo`,
    ]);
    expect(result.exitCode).toBe(0);
    expect(JSON.parse(result.stdout)).toEqual({ message: 'hello from buf' });
  });

  it('buf curl sees a domain error with its canonical code', async () => {
    const result = await bufCurl([
      '-d',
      '{"kind":"not_found"}',
      `http://${address}/trellis.testing.v1.EchoService/Fail`,
    ]);
    expect(result.exitCode).not.toBe(0);
    expect(JSON.parse(result.stdout || result.stderr)).toMatchObject({
      code: 'not_found',
      message: 'account acc_1 not found',
    });
  });

  it('a validation error reaches a plain grpc-js client as INVALID_ARGUMENT with a decodable BadRequest', async () => {
    const client = new grpc.Client(address, grpc.credentials.createInsecure());
    const error = await new Promise<grpc.ServiceError>((resolve, reject) => {
      client.makeUnaryRequest(
        '/trellis.testing.v1.EchoService/Fail',
        (req: FailRequest) => Buffer.from(FailRequest.encode(req).finish()),
        (bytes: Buffer) => FailResponse.decode(bytes),
        { kind: 'validation' },
        (err) => (err ? resolve(err) : reject(new Error('expected an error'))),
      );
    });
    client.close();
    expect(error.code).toBe(grpc.status.INVALID_ARGUMENT);
    const [details] = error.metadata.get('grpc-status-details-bin') as Buffer[];
    const status = RpcStatus.decode(details);
    expect(status.code).toBe(grpc.status.INVALID_ARGUMENT);
    const badRequest = status.details.find((d) => d.typeUrl.endsWith('google.rpc.BadRequest'));
    expect(BadRequest.decode(badRequest!.value).fieldViolations).toEqual([
      expect.objectContaining({ field: 'amount.units', description: 'must be greater than 0' }),
    ]);
  });

  it('precondition and rate-limit errors carry ErrorInfo and RetryInfo', async () => {
    const { client, close } = createGrpcClient(EchoServiceDefinition, { address });
    try {
      const precondition = await client.fail({ kind: 'precondition' }).catch((e: unknown) => e);
      expect(precondition).toBeInstanceOf(RichClientError);
      const rich = precondition as RichClientError;
      expect(rich.code).toBe(Status.FAILED_PRECONDITION);
      const info = rich.extra.find((d) => d.$type === ErrorInfo.$type) as ErrorInfo;
      expect(info).toMatchObject({ reason: 'INSUFFICIENT_FUNDS', domain: 'trellis.dev' });
      expect(info.metadata).toMatchObject({
        code: 'ACCOUNT.INSUFFICIENT_FUNDS',
        account_id: 'acc_1',
      });

      const limited = (await client
        .fail({ kind: 'rate_limited' })
        .catch((e: unknown) => e)) as RichClientError;
      expect(limited.code).toBe(Status.RESOURCE_EXHAUSTED);
      const retry = limited.extra.find((d) => d.$type === RetryInfo.$type) as RetryInfo;
      expect(retry.retryDelay).toMatchObject({ seconds: 1, nanos: 500_000_000 });
    } finally {
      close();
    }
  });

  it('an unexpected Error is INTERNAL with a generic message; its stack is logged, not sent', async () => {
    const { client, close } = createGrpcClient(EchoServiceDefinition, { address });
    const error = (await client.fail({ kind: 'boom' }).catch((e: unknown) => e)) as ClientError;
    close();
    expect(error.code).toBe(Status.INTERNAL);
    expect(error.details).toMatch(/^internal error \(error id [0-9a-f-]{36}\)$/);
    expect(error.details).not.toContain('disk is on fire');
    const errorId = error.details.match(/error id ([0-9a-f-]{36})/)![1];
    const logged = await waitFor(() => lines.find((l) => l.error_id === errorId), {
      what: 'the error log line',
    });
    expect((logged.err as { stack: string }).stack).toContain('disk is on fire');
  });

  it('logs one structured line per call and counts RED metrics', async () => {
    const { client, close } = createGrpcClient(EchoServiceDefinition, { address });
    await client.echo({ message: 'metrics' });
    close();
    const line = await waitFor(() =>
      lines.find(
        (l) =>
          l['rpc.method'] === '/trellis.testing.v1.EchoService/Echo' && l['grpc.code'] === 'OK',
      ),
    );
    expect(line).toMatchObject({ service: 'kit-test', msg: 'rpc', level: 'info' });
    expect(typeof line.duration_ms).toBe('number');
    const text = await metrics.metrics();
    expect(text).toMatch(
      /rpc_server_requests_total\{rpc_service="trellis.testing.v1.EchoService",rpc_method="Echo",rpc_grpc_status_code="OK"\} \d+/,
    );
    expect(text).toContain('rpc_grpc_status_code="FAILED_PRECONDITION"');
  });
});

describe('gRPC kit: statuses of batch entries', () => {
  const path = '/trellis.testing.v1.EchoService/Batch';

  it('an entry reports the status, message and details the call would have failed with', () => {
    const { logger, lines } = captureLogger('batch-test');
    expect(rpcStatusOf(undefined, logger, path)).toEqual({
      code: Status.OK,
      message: '',
      details: [],
    });
    expect(lines).toEqual([]);
    const lost = rpcStatusOf(
      new PreconditionFailedError('JOB.LEASE_LOST', 'the lease is not current', { job_id: 'j1' }),
      logger,
      path,
      { entry: 1, job_id: 'j1' },
    );
    expect([lost.code, lost.message]).toEqual([
      Status.FAILED_PRECONDITION,
      'the lease is not current',
    ]);
    // The call's access line says OK, so the entry gets the warn line a failed call would.
    expect(lines).toMatchObject([
      {
        level: 'warn',
        msg: 'rpc entry rejected',
        'rpc.method': path,
        entry: 1,
        job_id: 'j1',
        'grpc.code': 'FAILED_PRECONDITION',
      },
    ]);
    const asThrown = rpcStatusError(path, lost);
    expect(asThrown).toBeInstanceOf(RichClientError);
    expect([asThrown.code, asThrown.details, asThrown.path]).toEqual([
      Status.FAILED_PRECONDITION,
      'the lease is not current',
      path,
    ]);
    expect(asThrown.extra).toEqual([
      ErrorInfo.fromPartial({
        reason: 'LEASE_LOST',
        domain: 'trellis.dev',
        metadata: { code: 'JOB.LEASE_LOST', job_id: 'j1' },
      }),
    ]);
    const invalid = rpcStatusError(
      path,
      rpcStatusOf(ValidationError.field('jobs[1].payload', 'is required'), logger, path),
    );
    expect(invalid.code).toBe(Status.INVALID_ARGUMENT);
    const badRequest = invalid.extra.find((d) => d.$type === BadRequest.$type) as BadRequest;
    expect(badRequest.fieldViolations.map((v) => v.field)).toEqual(['jobs[1].payload']);
  });

  it('an unexpected error is INTERNAL with an error id, and its stack is logged, not sent', () => {
    const { logger, lines } = captureLogger('batch-test');
    const status = rpcStatusOf(new Error('disk is on fire'), logger, path);
    expect(status.code).toBe(Status.INTERNAL);
    expect(status.message).toMatch(/^internal error \(error id [0-9a-f-]{36}\)$/);
    const errorId = status.message.match(/error id ([0-9a-f-]{36})/)![1];
    const logged = lines.find((l) => l.error_id === errorId);
    expect((logged?.err as { stack: string }).stack).toContain('disk is on fire');
  });
});

describe('gRPC kit: access log levels of query methods', () => {
  // The Echo service with both methods declared `idempotency_level = NO_SIDE_EFFECTS`, as
  // GetAccount and the other Get*/List* methods are.
  const queryDefinition = {
    ...EchoServiceDefinition,
    methods: {
      echo: {
        ...EchoServiceDefinition.methods.echo,
        options: { idempotencyLevel: 'NO_SIDE_EFFECTS' },
      },
      fail: {
        ...EchoServiceDefinition.methods.fail,
        options: { idempotencyLevel: 'NO_SIDE_EFFECTS' },
      },
    },
  } as const;

  it('logs successful query calls at debug, slow ones at info and failed ones at warn', async () => {
    const { logger, lines } = captureLogger('kit-test');
    const server = createGrpcServer({ logger, descriptorSet, slowQueryLogMs: 150 });
    server.add(queryDefinition, echoService);
    const address = `127.0.0.1:${await server.listen('127.0.0.1:0')}`;
    server.setServing(true);
    const { client, close } = createGrpcClient(queryDefinition, { address });
    try {
      await client.echo({ message: 'fast' });
      await client.echo({ message: 'slow', delayMs: 200 });
      await client.fail({ kind: 'not_found' }).catch(() => undefined);
      const levels = await waitFor(() => {
        const access = lines.filter((l) => l.msg === 'rpc' || l.msg === 'rpc rejected');
        return access.length === 3 ? access.map((l) => [l['grpc.code'], l.level]) : undefined;
      });
      expect(levels).toEqual([
        ['OK', 'debug'],
        ['OK', 'info'],
        ['NOT_FOUND', 'warn'],
      ]);
    } finally {
      close();
      await server.shutdown();
    }
  });
});

describe('gRPC kit: access log level of idle calls', () => {
  it('a successful call its handler marked idle (an empty long-poll) logs at debug, others at info', async () => {
    const { logger, lines } = captureLogger('kit-test');
    const server = createGrpcServer({ logger, descriptorSet });
    server.add(EchoServiceDefinition, {
      ...echoService,
      async echo(request, context) {
        if (request.message === '') logAsIdle(context);
        return { message: request.message };
      },
    });
    const address = `127.0.0.1:${await server.listen('127.0.0.1:0')}`;
    server.setServing(true);
    const { client, close } = createGrpcClient(EchoServiceDefinition, { address });
    try {
      await client.echo({ message: '' });
      await client.echo({ message: 'work' });
      const levels = await waitFor(() => {
        const access = lines.filter((l) => l.msg === 'rpc');
        return access.length === 2 ? access.map((l) => l.level) : undefined;
      });
      expect(levels).toEqual(['debug', 'info']);
    } finally {
      close();
      await server.shutdown();
    }
  });
});

describe('gRPC kit: tracing', () => {
  it('a client span travels in traceparent and the handler runs inside a server span of the same trace', async () => {
    const { context } = await import('@opentelemetry/api');
    context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
    trace.setGlobalTracerProvider(new BasicTracerProvider());
    const { server, address } = await startServer();
    server.setServing(true);
    const { client, close } = createGrpcClient(EchoServiceDefinition, { address });
    try {
      await trace.getTracer('test').startActiveSpan('caller', async (span) => {
        const err = (await client.fail({ kind: 'trace' }).catch((e: unknown) => e)) as ClientError;
        expect(err.details).toBe(`trace ${span.spanContext().traceId} not found`);
        span.end();
      });
    } finally {
      close();
      await server.shutdown();
      trace.disable();
      context.disable();
    }
  });
});

describe('gRPC kit: health and graceful shutdown', () => {
  it('health is NOT_SERVING until ready, SERVING when ready, NOT_SERVING during shutdown while in-flight calls complete', async () => {
    const { server, address } = await startServer();
    const channel = createChannel(address);
    const health = createClient(HealthDefinition, channel);
    const echo = createClient(EchoServiceDefinition, channel);
    try {
      expect((await health.check({ service: '' })).status).toBe(Serving.NOT_SERVING);
      server.setServing(true);
      expect((await health.check({ service: '' })).status).toBe(Serving.SERVING);
      expect((await health.check({ service: 'trellis.testing.v1.EchoService' })).status).toBe(
        Serving.SERVING,
      );

      const watch = health.watch({ service: '' })[Symbol.asyncIterator]();
      expect((await watch.next()).value).toMatchObject({ status: Serving.SERVING });

      const running = nextSlowCall();
      const inFlight = echo.echo({ message: 'finishing', delayMs: 400 });
      await running;
      const stopping = server.shutdown();
      expect((await watch.next()).value).toMatchObject({ status: Serving.NOT_SERVING });
      await expect(inFlight).resolves.toEqual({ message: 'finishing' });
      await stopping;

      const afterShutdown = await echo.echo({ message: 'late' }).catch((e: unknown) => e);
      expect(afterShutdown).toBeInstanceOf(ClientError);
      expect((afterShutdown as ClientError).code).toBe(Status.UNAVAILABLE);
    } finally {
      channel.close();
      await server.shutdown();
    }
  });

  it('cancels calls still running when the grace period ends', async () => {
    const { server, address } = await startServer(100);
    server.setServing(true);
    const { client, close } = createGrpcClient(EchoServiceDefinition, { address, maxAttempts: 1 });
    try {
      const running = nextSlowCall();
      const slow = client.echo({ message: 'too slow', delayMs: 10_000 }).catch((e: unknown) => e);
      await running;
      await server.shutdown();
      const error = (await slow) as ClientError;
      expect(error).toBeInstanceOf(ClientError);
      expect([Status.CANCELLED, Status.UNAVAILABLE]).toContain(error.code);
    } finally {
      close();
      await server.shutdown();
    }
  });
});

// Keep the generated message codecs referenced so the test exercises the same encoding as clients.
void EchoRequest;
void EchoResponse;
