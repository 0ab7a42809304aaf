import {
  createConnection,
  createServer,
  type AddressInfo,
  type Server,
  type Socket,
} from 'node:net';
import { MongoClient } from 'mongodb';
import { createChannel, createClient } from 'nice-grpc';
import { healthV1 } from '@trellis/contracts';
import { startKafkaDevBroker, type KafkaDevBroker } from '@trellis/devstack/kafka';
import { startMongoDevServer, type MongoDevServer } from '@trellis/devstack/mongo';
import { loadConfig } from '@trellis/platform/config';
import { LIVENESS_SERVICE, READINESS_SERVICE } from '@trellis/platform/grpc';
import { withTransaction } from '@trellis/platform/mongo';
import { captureLogger, waitFor } from '@trellis/platform/testing';
import { serviceConfigShape, startService } from '../src';

let mongo: MongoDevServer | undefined;
let broker: KafkaDevBroker | undefined;
let observer: MongoClient;

beforeAll(async () => {
  mongo = process.env.MONGODB_URI ? undefined : await startMongoDevServer({ port: 0 });
  broker = process.env.KAFKA_BROKERS ? undefined : await startKafkaDevBroker({ port: 0 });
  observer = new MongoClient(process.env.MONGODB_URI ?? mongo!.uri);
});
afterAll(async () => {
  await observer?.close();
  await broker?.stop();
  await mongo?.stop();
});

describe('startService', () => {
  it('serves health once MongoDB and Kafka answer, exposes metrics, and shuts down in order', async () => {
    const config = loadConfig(
      serviceConfigShape({ grpcPort: 0, metricsPort: 0, database: 'runtime_test' }),
      {
        GRPC_HOST: '127.0.0.1',
        MONGODB_URI: process.env.MONGODB_URI ?? mongo!.uri,
        KAFKA_BROKERS: process.env.KAFKA_BROKERS ?? broker!.brokers.join(','),
      },
    );
    const { logger, lines } = captureLogger('runtime-test');
    const stopped: string[] = [];
    const owners = () => observer.db('runtime_test').collection('session_owners');
    const service = await startService({
      name: 'runtime-test',
      config,
      logger,
      async register() {
        return { stop: async () => void stopped.push('parts') };
      },
    });
    const channel = createChannel(service.grpcAddress);
    const health = createClient(healthV1.HealthDefinition, channel);
    try {
      const status = await health.check({ service: '' });
      expect(status.status).toBe(healthV1.HealthCheckResponse_ServingStatus.SERVING);
      const metrics = await (await fetch(service.metricsUrl)).text();
      expect(metrics).toContain('outbox_lag_seconds');
      expect(metrics).toContain('service="runtime-test"');
      // Its transactions' sessions are recorded, for a successor to kill should it die (SessionOwners).
      await withTransaction(service.context.mongo.client, (session) =>
        service.context.mongo.db.collection('things').insertOne({ n: 1 }, { session }),
      );
      expect(await owners().countDocuments({ service: 'runtime-test', lsids: { $size: 1 } })).toBe(
        1,
      );
    } finally {
      channel.close();
      await service.stop();
    }
    expect(stopped).toEqual(['parts']);
    // A clean stop removes the record: its sessions ended with the client.
    expect(await owners().countDocuments({ service: 'runtime-test' })).toBe(0);
    await waitFor(() => lines.some((l) => l.msg === 'stopped'));
    await expect(fetch(service.metricsUrl)).rejects.toThrow();
  });

  it('refuses plaintext under NODE_ENV=production unless ALLOW_INSECURE=true, which it logs', async () => {
    const env = {
      GRPC_HOST: '127.0.0.1',
      MONGODB_URI: process.env.MONGODB_URI ?? mongo!.uri,
      KAFKA_BROKERS: process.env.KAFKA_BROKERS ?? broker!.brokers.join(','),
      NODE_ENV: 'production',
    };
    const shape = serviceConfigShape({ grpcPort: 0, metricsPort: 0, database: 'runtime_prod' });
    const register = async () => undefined;
    await expect(
      startService({
        name: 'prod-test',
        config: loadConfig(shape, env),
        register,
      }),
    ).rejects.toThrow(/^Invalid configuration: TLS_CERT_FILE is required when NODE_ENV=production/);

    const { logger, lines } = captureLogger('prod-test');
    const service = await startService({
      name: 'prod-test',
      config: loadConfig(shape, { ...env, ALLOW_INSECURE: 'true' }),
      logger,
      register,
    });
    await service.stop();
    expect(lines).toEqual(
      expect.arrayContaining([
        expect.objectContaining({
          level: 'warn',
          event: 'security',
          msg: expect.stringContaining('ALLOW_INSECURE'),
        }),
      ]),
    );
  });

  it('a bad variable stops start-up with one line naming it', () => {
    expect(() =>
      loadConfig(serviceConfigShape({ grpcPort: 0, metricsPort: 0, database: 'x' }), {
        MONGODB_URI: 'http://nope',
      }),
    ).toThrow(
      'Invalid configuration: MONGODB_URI is invalid: expected a mongodb:// or mongodb+srv:// URI',
    );
  });

  it('a MongoDB outage turns readiness NOT_SERVING while liveness stays SERVING; both SERVING when it returns, without a restart', async () => {
    // Nothing re-checks on a timer while ready: the probes' own checks must see the outage.
    const { service, proxy, health } = await startBehindProxy('runtime_outage', 10 * 60_000);
    const { SERVING, NOT_SERVING } = healthV1.HealthCheckResponse_ServingStatus;
    const status = async (name: string) => (await health.check({ service: name })).status;
    const livenessSeen: number[] = [];
    const readinessIs = (expected: number) => async () => {
      livenessSeen.push(await status(LIVENESS_SERVICE));
      return (await status(READINESS_SERVICE)) === expected && (await status('')) === expected;
    };
    try {
      await waitFor(readinessIs(SERVING), { timeoutMs: 10_000, what: 'ready' });
      const port = service.grpcPort;

      proxy.cut();
      await waitFor(readinessIs(NOT_SERVING), {
        timeoutMs: 30_000,
        intervalMs: 200,
        what: 'readiness NOT_SERVING while MongoDB is unreachable',
      });
      expect(await status(LIVENESS_SERVICE)).toBe(SERVING);

      proxy.restore();
      await waitFor(readinessIs(SERVING), {
        timeoutMs: 30_000,
        intervalMs: 200,
        what: 'readiness SERVING once MongoDB is back',
      });
      // The same process and server answered throughout: liveness never failed, so a kubelet
      // would not have restarted it.
      expect(service.grpcPort).toBe(port);
      expect(new Set(livenessSeen)).toEqual(new Set([SERVING]));
    } finally {
      await service.stop();
      await proxy.close();
    }
  }, 90_000);

  it('with no probe asking, a health Watch still sees readiness follow a MongoDB outage', async () => {
    // The driver's failed heartbeat triggers the check; no timer would for ten minutes.
    const { service, proxy, health } = await startBehindProxy('runtime_watch', 10 * 60_000);
    const { SERVING, NOT_SERVING } = healthV1.HealthCheckResponse_ServingStatus;
    const watching = new AbortController();
    const seen: number[] = [];
    const watch = (async () => {
      for await (const { status } of health.watch(
        { service: READINESS_SERVICE },
        { signal: watching.signal },
      ))
        seen.push(status);
    })().catch(() => undefined);
    const last = () => seen[seen.length - 1];
    try {
      await waitFor(async () => last() === SERVING, { timeoutMs: 10_000, what: 'ready' });
      proxy.cut();
      await waitFor(async () => last() === NOT_SERVING, {
        timeoutMs: 30_000,
        what: 'Watch sees NOT_SERVING while MongoDB is unreachable',
      });
      proxy.restore();
      await waitFor(async () => last() === SERVING, {
        timeoutMs: 30_000,
        what: 'Watch sees SERVING once MongoDB is back',
      });
    } finally {
      watching.abort();
      await watch;
      await service.stop();
      await proxy.close();
    }
  }, 90_000);
});

/** A service whose MongoDB is reached through a proxy that can be cut; its health client. */
async function startBehindProxy(database: string, readinessIdleIntervalMs: number) {
  const target = new URL(process.env.MONGODB_URI ?? mongo!.uri);
  const proxy = await startTcpProxy(target.hostname, Number(target.port || 27017));
  // Through the proxy only: a replica-set URI would let the driver find the server directly.
  const uri = `mongodb://127.0.0.1:${proxy.port}/?directConnection=true`;
  const config = loadConfig(serviceConfigShape({ grpcPort: 0, metricsPort: 0, database }), {
    GRPC_HOST: '127.0.0.1',
    MONGODB_URI: uri,
    KAFKA_BROKERS: process.env.KAFKA_BROKERS ?? broker!.brokers.join(','),
    TRACING_ENABLED: 'false',
  });
  const started = await startService({
    name: 'outage-test',
    config,
    logger: captureLogger('outage-test').logger,
    readinessIntervalMs: 200,
    readinessIdleIntervalMs,
    register: async () => undefined,
  });
  const channel = createChannel(started.grpcAddress);
  const service = {
    grpcPort: started.grpcPort,
    async stop() {
      channel.close();
      await started.stop();
    },
  };
  return { service, proxy, health: createClient(healthV1.HealthDefinition, channel) };
}

/** A TCP proxy to `host:port` whose link can be cut (every connection reset, new ones refused). */
async function startTcpProxy(host: string, port: number) {
  const open = new Set<Socket>();
  let up = true;
  const server: Server = createServer((client) => {
    if (!up) return client.destroy();
    const upstream = createConnection(port, host);
    for (const socket of [client, upstream]) {
      open.add(socket);
      socket.on('close', () => open.delete(socket));
      socket.on('error', () => undefined);
    }
    client.pipe(upstream).pipe(client);
    client.on('close', () => upstream.destroy());
    upstream.on('close', () => client.destroy());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as AddressInfo).port,
    cut() {
      up = false;
      for (const socket of open) socket.destroy();
    },
    restore() {
      up = true;
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of open) socket.destroy();
        server.close(() => resolve());
      }),
  };
}
