/**
 * startMongoDevServer: the composition root of the devstack MongoDB server. Builds the engine
 * (optionally loading the journal), the session and cursor registries, the housekeeping timers,
 * and a TCP listener whose connections speak the MongoDB wire protocol.
 */
import { createServer, type Server, type Socket } from 'node:net';
import { ObjectId } from 'bson';
import pino, { type Logger } from 'pino';
import type { ServerState } from './commands/context';
import { FailPoints } from './commands/fail-points';
import { CursorRegistry } from './cursors';
import { ClusterClock } from './protocol/cluster-time';
import { DEFAULT_WIRE_VERSION, WIRE_VERSIONS, type WireVersion } from './protocol/handshake';
import { Engine } from './storage/engine';
import { type FsyncPolicy, Journal } from './storage/journal';
import { TtlMonitor } from './storage/ttl-monitor';
import { SessionRegistry } from './transactions/sessions';
import { Connection } from './wire/connection';

export interface MongoDevServerOptions {
  /** TCP port; 0 (default) picks a free one. */
  port?: number;
  /** Interface to listen on; default 127.0.0.1. */
  host?: string;
  /** With a directory, committed writes are journaled there and reloaded on start. */
  dataDir?: string;
  /** Journal fsync policy (see README.md); default `interval`. */
  fsync?: FsyncPolicy;
  /** Host name clients should use (hello `hosts`/`me`, the URI); default `host`, or 127.0.0.1 for a wildcard host. */
  advertisedHost?: string;
  /** Replica-set name advertised in hello; default `rs0`. */
  replicaSetName?: string;
  /** Open transactions older than this are aborted; default 60 (mongod's default). */
  transactionLifetimeLimitSeconds?: number;
  /** How often the TTL monitor runs; default 60000 (mongod's ttlMonitorSleepSecs). */
  ttlMonitorIntervalMs?: number;
  /**
   * Enables the test-only commands, as mongod's `enableTestCommands`: `configureFailPoint`
   * (`failCommand`). Default false; never enable it outside tests.
   */
  enableTestCommands?: boolean;
  /**
   * The MongoDB version presented: 25 (8.0, default) or 21 (7.0: no `bulkWrite` command, no update
   * `sort`), to test a client's fallback for older servers.
   */
  maxWireVersion?: WireVersion;
  logger?: Logger;
}

export interface MongoDevServer {
  /** e.g. `mongodb://127.0.0.1:40123/?replicaSet=rs0` */
  uri: string;
  host: string;
  port: number;
  /** Runs one TTL pass now (tests); returns how many documents expired. */
  runTtlPass(): number;
  stop(): Promise<void>;
}

export async function startMongoDevServer(
  options: MongoDevServerOptions = {},
): Promise<MongoDevServer> {
  const host = options.host ?? '127.0.0.1';
  const maxWireVersion = options.maxWireVersion ?? DEFAULT_WIRE_VERSION;
  if (!Object.values(WIRE_VERSIONS).includes(maxWireVersion))
    throw new Error(`maxWireVersion must be one of ${Object.values(WIRE_VERSIONS).join(', ')}`);
  const setName = options.replicaSetName ?? 'rs0';
  const logger = options.logger ?? pino({ name: 'devstack-mongo', level: 'warn' });
  const engine = new Engine();
  const journal = options.dataDir
    ? Journal.open(options.dataDir, engine, options.fsync ?? 'interval', logger)
    : null;
  const sessions = new SessionRegistry(
    engine,
    (options.transactionLifetimeLimitSeconds ?? 60) * 1000,
  );
  const cursors = new CursorRegistry();

  const sockets = new Set<Connection>();
  let nextConnectionId = 1;
  const state: ServerState = {
    engine,
    cursors,
    sessions,
    logger,
    hostPort: '',
    setName,
    electionId: new ObjectId('7fffffff0000000000000001'),
    failPoints: options.enableTestCommands === true ? new FailPoints() : null,
    clusterClock: new ClusterClock(),
    maxWireVersion,
  };

  const tcp: Server = createServer((socket: Socket) => {
    const conn = new Connection(socket, state, {
      id: nextConnectionId++,
      remote: `${socket.remoteAddress ?? '?'}:${socket.remotePort ?? '?'}`,
      close: () => conn.destroy(),
    });
    sockets.add(conn);
    socket.on('close', () => sockets.delete(conn));
  });
  await new Promise<void>((resolve, reject) => {
    tcp.once('error', reject);
    tcp.listen({ port: options.port ?? 0, host, backlog: 1024 }, () => resolve());
  });
  const address = tcp.address();
  const port = typeof address === 'object' && address ? address.port : (options.port ?? 0);
  const advertised =
    options.advertisedHost ?? (host === '0.0.0.0' || host === '::' ? '127.0.0.1' : host);
  state.hostPort = `${advertised.includes(':') ? `[${advertised}]` : advertised}:${port}`;

  // Once a second: a transaction past its lifetime limit is still aborted within a second of it,
  // and an idle devstack is not woken four times a second.
  const housekeeping = setInterval(() => {
    const aborted = sessions.expire();
    if (aborted > 0)
      logger.info({ aborted }, 'aborted transactions past transactionLifetimeLimitSeconds');
    cursors.expireIdle();
  }, 1_000);
  housekeeping.unref();
  const ttl = new TtlMonitor(engine, options.ttlMonitorIntervalMs ?? 60_000, logger);

  const uri = `mongodb://${state.hostPort}/?replicaSet=${encodeURIComponent(setName)}`;
  logger.info({ uri, dataDir: options.dataDir ?? null }, 'devstack mongo listening');

  let stopped: Promise<void> | null = null;
  return {
    uri,
    host: advertised,
    port,
    runTtlPass: () => ttl.runOnce(),
    stop() {
      stopped ??= (async () => {
        clearInterval(housekeeping);
        ttl.stop();
        const closed = new Promise<void>((resolve) => tcp.close(() => resolve()));
        for (const conn of sockets) conn.destroy();
        await closed;
        sessions.abortAll();
        journal?.close();
      })();
      return stopped;
    },
  };
}
