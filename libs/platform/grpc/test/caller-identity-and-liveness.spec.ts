import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createChannel, createClient, Metadata } from 'nice-grpc';
import {
  HealthDefinition,
  HealthCheckResponse_ServingStatus as Serving,
} from 'nice-grpc-server-health/lib/proto/grpc/health/v1/health';
import { captureLogger, waitFor } from '@trellis/platform/testing';
import {
  callerIdentityOf,
  createGrpcServer,
  LIVENESS_SERVICE,
  peerHost,
  READINESS_SERVICE,
  type GrpcServer,
} from '../src';
import { EchoServiceDefinition } from './gen/trellis/testing/v1/echo';

const descriptorSet = readFileSync(join(__dirname, 'gen', 'echo.binpb'));

describe('peerHost', () => {
  it('drops the port of IPv4, IPv6 and IPv4-mapped peers', () => {
    expect(peerHost('10.1.2.3:50123')).toBe('10.1.2.3');
    expect(peerHost('::1:50123')).toBe('::1');
    expect(peerHost('[2001:db8::7]:443')).toBe('2001:db8::7');
    expect(peerHost('::ffff:10.1.2.3:50123')).toBe('10.1.2.3');
  });
});

describe('caller identity without authentication', () => {
  let server: GrpcServer;
  let address: string;
  const captured = captureLogger('identity-test');

  beforeAll(async () => {
    server = createGrpcServer({ logger: captured.logger, descriptorSet });
    server.add(EchoServiceDefinition, {
      async echo(_request, context) {
        return { message: callerIdentityOf(context) };
      },
      async fail() {
        return {};
      },
    });
    address = `127.0.0.1:${await server.listen('127.0.0.1:0')}`;
    server.setServing(true);
  });
  afterAll(() => server.shutdown());

  it('is the peer address without port: a new connection or a forged header does not change it', async () => {
    const forged = Metadata({
      'x-caller': 'someone-else',
      'x-trellis-identity': 'admin',
      'x-trellis-caller': 'admin',
    });
    const seen: string[] = [];
    for (let connection = 0; connection < 3; connection++) {
      const channel = createChannel(address);
      const client = createClient(EchoServiceDefinition, channel);
      seen.push((await client.echo({ message: 'who' })).message);
      seen.push((await client.echo({ message: 'who' }, { metadata: forged })).message);
      channel.close();
    }
    expect(new Set(seen)).toEqual(new Set(['127.0.0.1']));
    // The access log names the caller; the peers (ports) differ per connection.
    const access = captured.lines.filter(
      (l) => l['rpc.method'] === '/trellis.testing.v1.EchoService/Echo',
    );
    expect(access).toHaveLength(6);
    expect(new Set(access.map((l) => l.caller))).toEqual(new Set(['127.0.0.1']));
    expect(new Set(access.map((l) => l.peer)).size).toBe(3);
  });
});

describe('liveness is not readiness', () => {
  let server: GrpcServer;
  let channel: ReturnType<typeof createChannel>;
  const status = async (service: string) =>
    (await createClient(HealthDefinition, channel).check({ service })).status;

  beforeAll(async () => {
    server = createGrpcServer({
      logger: captureLogger('liveness-test').logger,
      descriptorSet,
      livenessMaxStallMs: 200,
    });
    server.add(EchoServiceDefinition, {
      async echo(request) {
        return { message: request.message };
      },
      async fail() {
        return {};
      },
    });
    channel = createChannel(`127.0.0.1:${await server.listen('127.0.0.1:0')}`);
  });
  afterAll(async () => {
    channel.close();
    await server.shutdown();
  });

  it('liveness stays SERVING while readiness follows the dependencies', async () => {
    expect(await status(LIVENESS_SERVICE)).toBe(Serving.SERVING);
    expect(await status(READINESS_SERVICE)).toBe(Serving.NOT_SERVING);
    expect(await status('')).toBe(Serving.NOT_SERVING);
    server.setServing(true);
    for (const name of [READINESS_SERVICE, '', 'trellis.testing.v1.EchoService'])
      expect(await status(name)).toBe(Serving.SERVING);
    server.setServing(false);
    expect(await status(READINESS_SERVICE)).toBe(Serving.NOT_SERVING);
    expect(await status(LIVENESS_SERVICE)).toBe(Serving.SERVING);
  });

  it('liveness turns NOT_SERVING after the event loop stalled past the threshold, then recovers', async () => {
    const blockedUntil = Date.now() + 600;
    while (Date.now() < blockedUntil) {
      // A wedged handler: the event loop does not turn.
    }
    await waitFor(async () => (await status(LIVENESS_SERVICE)) === Serving.NOT_SERVING, {
      timeoutMs: 5_000,
      intervalMs: 10,
      what: 'liveness NOT_SERVING after a stall',
    });
    await waitFor(async () => (await status(LIVENESS_SERVICE)) === Serving.SERVING, {
      timeoutMs: 5_000,
      what: 'liveness SERVING again',
    });
  });
  it('servers of one process share the loop watcher: one left after another shut down still sees a stall', async () => {
    const start = async () => {
      const other = createGrpcServer({
        logger: captureLogger('liveness-test').logger,
        descriptorSet,
        livenessMaxStallMs: 200,
      });
      const ch = createChannel(`127.0.0.1:${await other.listen('127.0.0.1:0')}`);
      return { other, ch };
    };
    const first = await start();
    const second = await start();
    await first.other.shutdown();
    first.ch.close();
    const check = async () =>
      (await createClient(HealthDefinition, second.ch).check({ service: LIVENESS_SERVICE })).status;
    try {
      const blockedUntil = Date.now() + 600;
      while (Date.now() < blockedUntil) {
        // A wedged handler: the event loop does not turn.
      }
      await waitFor(async () => (await check()) === Serving.NOT_SERVING, {
        timeoutMs: 5_000,
        intervalMs: 10,
        what: 'liveness NOT_SERVING after a stall, on the server left',
      });
      await waitFor(async () => (await check()) === Serving.SERVING, {
        timeoutMs: 5_000,
        what: 'liveness SERVING again',
      });
    } finally {
      second.ch.close();
      await second.other.shutdown();
    }
  });

  it('a readiness Check first runs beforeReadinessCheck (a fresh dependency check); liveness does not', async () => {
    const asked: string[] = [];
    let ready = false;
    const probed = createGrpcServer({
      logger: captureLogger('readiness-test').logger,
      descriptorSet,
      beforeReadinessCheck: async () => {
        asked.push('check');
        probed.setServing(ready);
      },
    });
    const ch = createChannel(`127.0.0.1:${await probed.listen('127.0.0.1:0')}`);
    const check = async (service: string) =>
      (await createClient(HealthDefinition, ch).check({ service })).status;
    try {
      expect(await check(LIVENESS_SERVICE)).toBe(Serving.SERVING);
      expect(asked).toEqual([]);
      expect(await check(READINESS_SERVICE)).toBe(Serving.NOT_SERVING);
      ready = true;
      // The answer is the one the check just made, not the state before it.
      expect(await check(READINESS_SERVICE)).toBe(Serving.SERVING);
      expect(await check('')).toBe(Serving.SERVING);
      expect(asked).toEqual(['check', 'check', 'check']);
    } finally {
      ch.close();
      await probed.shutdown();
    }
  });
});
