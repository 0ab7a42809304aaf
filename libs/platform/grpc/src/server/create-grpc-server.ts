import type { EventEmitter } from 'node:events';
import type { Http2Session } from 'node:http2';
import {
  Server,
  ServerCredentials,
  type ServerInterceptingCall,
  type ServerInterceptor,
  type UntypedServiceImplementation,
} from '@grpc/grpc-js';
import {
  composeServerMiddleware,
  type CompatServiceDefinition,
  type ServerMiddleware,
  type ServiceImplementation,
} from 'nice-grpc';
import { errorDetailsServerMiddleware } from 'nice-grpc-error-details';
import { HealthDefinition, HealthServiceImpl, HealthState } from 'nice-grpc-server-health';
import type { Registry } from 'prom-client';
import type { Logger } from '@trellis/platform/logging';
import { errorMapperMiddleware } from './error-mapper.middleware';
import { createRpcObservability, observabilityMiddlewareFor } from './observability.middleware';
import {
  REFLECTION_SERVICE_NAMES,
  scopedServerReflection,
  ServerReflectionService,
  ServerReflectionV1AlphaService,
  servicesInDescriptorSet,
} from './reflection';
import { requestGuards, type RequestLimits } from './request-bounds';
import { streamingMethodHandler, toGrpcJsMethods } from './streaming-handlers';
import { createTerminator } from './terminator.middleware';
import { unaryHandler, type UnaryImplementation, type UnaryPipeline } from './unary-handler';
import {
  authMiddleware,
  createAuthenticator,
  type AuthSettings,
} from '../security/auth.middleware';
import { peerIdentityInterceptor } from '../security/peer-identity.interceptor';

export interface GrpcServerSettings {
  logger: Logger;
  /** RED metrics go here when given. */
  metrics?: Registry;
  /**
   * The FileDescriptorSet `buf build` produced. Reflection serves the part of it that describes the
   * services this server registered (and health, reflection and the google.rpc error details).
   */
  descriptorSet: Uint8Array;
  /**
   * Per-field request limits over the kit's defaults, by full proto field name
   * (request-bounds.ts); every method in `descriptorSet` is bounded either way.
   */
  requestLimits?: RequestLimits;
  /** Max inbound message size in bytes (default 4 MiB, grpc's own default). */
  maxReceiveMessageBytes?: number;
  /** How long shutdown waits for in-flight calls before cancelling them (default 10 s). */
  shutdownGraceMs?: number;
  /** HTTP/2 streams one connection may have open at once (default 100). */
  maxConcurrentStreams?: number;
  /**
   * Successful calls of query methods (`idempotency_level = NO_SIDE_EFFECTS`) log at debug unless
   * at least this slow (default 100 ms); every other call logs at info, warn or error.
   */
  slowQueryLogMs?: number;
  /** Extra grpc-js server options. */
  channelOptions?: Record<string, string | number>;
  /** TLS (optionally mTLS) credentials `listen` uses; plaintext when absent. */
  credentials?: ServerCredentials;
  /** Service-token authentication and per-method authorization; off when absent. */
  auth?: Omit<AuthSettings, 'logger'>;
  /**
   * Health service `liveness` turns NOT_SERVING for this long after the event loop was seen
   * stalled longer than this (default 10 s); a loop stalled right now cannot answer at all.
   */
  livenessMaxStallMs?: number;
  /**
   * Runs before a health Check of anything but `liveness` is answered, e.g. a fresh dependency
   * check (libs/platform/runtime readiness.ts), so that a probe gets a current answer.
   */
  beforeReadinessCheck?: () => Promise<void>;
}

/**
 * grpc.health.v1 service names. `liveness`: the process itself works (its event loop turns and the
 * server accepts the probe's call); never follows MongoDB or Kafka, so a dependency outage does
 * not restart pods. `readiness`, "" and each application service: dependencies reachable.
 */
export const LIVENESS_SERVICE = 'liveness';
export const READINESS_SERVICE = 'readiness';

type AnyDefinition = CompatServiceDefinition;

export interface GrpcServer {
  /** Registers a service implementation; its health status starts NOT_SERVING. */
  add<Definition extends AnyDefinition>(
    definition: Definition,
    implementation: ServiceImplementation<Definition>,
    fullName?: string,
  ): void;
  /** Binds `host:port` (port 0 = any free port) and returns the bound port. */
  listen(address: string, credentials?: ServerCredentials): Promise<number>;
  /**
   * Readiness ("", `readiness` and every added service): SERVING once dependencies are reachable,
   * NOT_SERVING otherwise. `liveness` is independent of it.
   */
  setServing(serving: boolean): void;
  /**
   * Graceful stop: health NOT_SERVING, stop accepting calls, let in-flight calls finish up to the
   * grace period, then cancel what is left.
   */
  shutdown(): Promise<void>;
  /**
   * Aborted when shutdown begins, before the drain waits: long-polls listen to it and return what
   * they have at once, as at their deadline, instead of holding the drain for their whole wait.
   */
  readonly draining: AbortSignal;
}

// Unary calls strip internal headers and read the client certificate themselves (unary-handler.ts);
// only nice-grpc's streaming handlers need the interceptor's extra layer.
const streamingPeerIdentity: ServerInterceptor = (method, call) =>
  method.requestStream || method.responseStream
    ? peerIdentityInterceptor(method, call)
    : (call as ServerInterceptingCall);

/**
 * The server every Trellis service runs: access log, RED metrics, tracing, auth and the one error
 * mapper around every call; grpc.health.v1 with a status per service; server reflection (v1 and
 * v1alpha) over the `buf build` descriptor set; graceful shutdown.
 *
 * Unary methods — every application method and health Check — are registered on grpc-js directly
 * with one lean wrapper (unary-handler.ts); streaming methods (health Watch, reflection) go through
 * nice-grpc's handlers and the same behaviour as nice-grpc middleware. Handlers keep nice-grpc's
 * signature either way.
 */
export function createGrpcServer(settings: GrpcServerSettings): GrpcServer {
  const { logger } = settings;
  const terminator = createTerminator();
  const drain = new AbortController();
  const server = new Server({
    'grpc.max_receive_message_length': settings.maxReceiveMessageBytes ?? 4 * 1024 * 1024,
    'grpc.max_concurrent_streams': settings.maxConcurrentStreams ?? 100,
    // Ping idle connections so half-open ones are closed instead of piling up.
    'grpc.keepalive_time_ms': 120_000,
    'grpc.keepalive_timeout_ms': 20_000,
    // Not 'grpc.enable_channelz': 0 — grpc-js 1.14 then stops tracking sessions, and forceShutdown
    // no longer cancels the calls still running after the grace period.
    ...settings.channelOptions,
    interceptors: [streamingPeerIdentity],
  });
  const receiveWindow = widenReceiveWindow(server, settings.maxReceiveMessageBytes);

  // Every request of every method the descriptor set describes is bounded before it is decoded.
  const guards = requestGuards(settings.descriptorSet, settings.requestLimits);
  const observability = createRpcObservability(logger, settings.metrics, {
    slowQueryMs: settings.slowQueryLogMs,
  });
  const auth = settings.auth ? { ...settings.auth, logger } : undefined;
  const platform: UnaryPipeline = {
    observability,
    authenticator: auth ? createAuthenticator(auth) : undefined,
  };
  // Application services also get the error mapper; health and reflection never throw domain errors.
  const application: UnaryPipeline = { ...platform, errorLogger: logger };
  let platformStreaming: ServerMiddleware = observabilityMiddlewareFor(observability);
  if (auth) platformStreaming = composeServerMiddleware(platformStreaming, authMiddleware(auth));
  const applicationStreaming = composeServerMiddleware(
    composeServerMiddleware(platformStreaming, errorDetailsServerMiddleware),
    errorMapperMiddleware(logger),
  );

  function register(
    definition: CompatServiceDefinition,
    implementation: Record<string, unknown>,
    unary: UnaryPipeline,
    streaming: ServerMiddleware,
  ): void {
    const methods = toGrpcJsMethods(definition, guards);
    const handlers: UntypedServiceImplementation = {};
    for (const [name, method] of Object.entries(methods)) {
      const impl = (implementation[name] as (...args: unknown[]) => unknown).bind(implementation);
      handlers[name] =
        method.requestStream || method.responseStream
          ? streamingMethodHandler(method, impl, streaming)
          : unaryHandler(method.path, impl as UnaryImplementation, unary, method.options);
    }
    server.addService(methods, handlers);
  }

  const health = HealthState();
  health.setStatus('unhealthy');
  health.setStatus('unhealthy', READINESS_SERVICE);
  const serviceNames: string[] = [];
  const liveness = watchEventLoop(settings.livenessMaxStallMs ?? 10_000, (alive) =>
    health.setStatus(alive ? 'healthy' : 'unhealthy', LIVENESS_SERVICE),
  );
  // Only Watch streams forever; the terminator ends them at shutdown.
  const healthService = HealthServiceImpl(health);
  const beforeReadinessCheck = settings.beforeReadinessCheck;
  register(
    HealthDefinition,
    beforeReadinessCheck
      ? ({
          ...healthService,
          async check(request, context) {
            if (request.service !== LIVENESS_SERVICE) await beforeReadinessCheck();
            return healthService.check(request, context);
          },
        } satisfies HealthServiceImpl)
      : healthService,
    platform,
    composeServerMiddleware(platformStreaming, terminator.middleware),
  );

  // Reflection lists and describes what this server registered, never the rest of the set.
  const described = servicesInDescriptorSet(settings.descriptorSet);
  const reflection = scopedServerReflection(settings.descriptorSet);
  reflection.add(HealthDefinition.fullName);
  for (const name of REFLECTION_SERVICE_NAMES) reflection.add(name);
  register(ServerReflectionService, reflection.implementation, platform, platformStreaming);
  register(ServerReflectionV1AlphaService, reflection.implementation, platform, platformStreaming);

  let shuttingDown: Promise<void> | undefined;
  let listening = false;

  return {
    draining: drain.signal,
    add(definition, implementation, fullName) {
      register(
        definition,
        implementation as Record<string, unknown>,
        application,
        applicationStreaming,
      );
      const name = fullName ?? ('fullName' in definition ? String(definition.fullName) : undefined);
      if (name) {
        if (!described.has(name)) {
          logger.warn(
            { service: name },
            'service is not in the descriptor set; reflection cannot describe it',
          );
        }
        serviceNames.push(name);
        reflection.add(name);
        health.setStatus('unhealthy', name);
      }
    },
    async listen(address, credentials) {
      if (listening) throw new Error('the server is already listening');
      listening = true;
      return new Promise<number>((resolve, reject) =>
        server.bindAsync(
          address,
          credentials ?? settings.credentials ?? ServerCredentials.createInsecure(),
          (err, port) => {
            if (err) {
              listening = false;
              reject(err);
            } else {
              receiveWindow.bound();
              resolve(port);
            }
          },
        ),
      );
    },
    setServing(serving) {
      if (shuttingDown && serving) return;
      const status = serving ? 'healthy' : 'unhealthy';
      health.setStatus(status);
      health.setStatus(status, READINESS_SERVICE);
      for (const name of serviceNames) health.setStatus(status, name);
    },
    shutdown() {
      shuttingDown ??= (async () => {
        this.setServing(false);
        // Liveness stays SERVING while calls drain: the process is stopping, not wedged.
        liveness.stop();
        terminator.terminate();
        drain.abort();
        const graceMs = settings.shutdownGraceMs ?? 10_000;
        let timer: NodeJS.Timeout | undefined;
        const forced = new Promise<'forced'>((resolve) => {
          timer = setTimeout(() => resolve('forced'), graceMs);
        });
        const drained = new Promise<'drained'>((resolve, reject) =>
          server.tryShutdown((err) => (err ? reject(err) : resolve('drained'))),
        );
        const outcome = await Promise.race([drained, forced]);
        clearTimeout(timer);
        if (outcome === 'forced') {
          logger.warn({ grace_ms: graceMs }, 'grace period over; cancelling remaining calls');
          server.forceShutdown();
        }
      })();
      return shuttingDown;
    },
  };
}

/** grpc-js Server fields the kit reaches into; checked at run time, grpc-js is pinned. */
interface ServerInternals {
  commonServerOptions?: { settings?: Record<string, unknown> };
  http2Servers?: Map<EventEmitter, unknown>;
}

/**
 * HTTP/2 receive windows as large as the largest message: with grpc-js's (Node's) 64 KiB default,
 * a 1 MiB request takes 16 window updates, each waiting for a turn of a busy event loop, and
 * stalls every other call on its connection meanwhile (a 1 s deadline missed under load).
 * grpc-js has no server option for it, so the kit sets Node's `initialWindowSize` setting (streams)
 * and each session's connection window.
 */
function widenReceiveWindow(server: Server, maxReceiveBytes = 4 * 1024 * 1024) {
  const window = Math.min(2 ** 31 - 1, maxReceiveBytes + 1024);
  const internals = server as unknown as ServerInternals;
  if (internals.commonServerOptions) {
    internals.commonServerOptions.settings = {
      ...internals.commonServerOptions.settings,
      initialWindowSize: window,
    };
  }
  const widened = new WeakSet<EventEmitter>();
  return {
    /** After each bind: the sessions of every HTTP/2 server get the connection window too. */
    bound() {
      for (const http2Server of internals.http2Servers?.keys() ?? []) {
        if (widened.has(http2Server)) continue;
        widened.add(http2Server);
        http2Server.on('session', (session: Http2Session) => session.setLocalWindowSize(window));
      }
    },
  };
}

interface LoopWatcher {
  alive: boolean;
  listeners: Set<(alive: boolean) => void>;
  timer: NodeJS.Timeout;
}

/** One watcher per stall limit, shared by every server of the process (the devstack runs three). */
const loopWatchers = new Map<number, LoopWatcher>();

/**
 * Reports whether the event loop keeps turning: a timer that fires late by more than `maxStallMs`
 * means the loop was blocked that long, and `report(false)` holds for `maxStallMs` after it, so a
 * loop that keeps stalling (answering a probe only now and then) stays not alive. The timer is
 * unref'd: it never keeps the process up.
 */
function watchEventLoop(maxStallMs: number, report: (alive: boolean) => void): { stop(): void } {
  let watcher = loopWatchers.get(maxStallMs);
  if (!watcher) {
    // A quarter of the limit (2.5 s by default): a stall is measured when the timer fires late.
    const intervalMs = Math.max(10, Math.min(5_000, Math.floor(maxStallMs / 4)));
    let last = performance.now();
    let stalledUntil = 0;
    const listeners = new Set<(alive: boolean) => void>();
    const timer = setInterval(() => {
      const now = performance.now();
      if (now - last - intervalMs > maxStallMs) stalledUntil = now + maxStallMs;
      last = now;
      watcher!.alive = now >= stalledUntil;
      for (const listener of listeners) listener(watcher!.alive);
    }, intervalMs);
    timer.unref();
    watcher = { alive: true, listeners, timer };
    loopWatchers.set(maxStallMs, watcher);
  }
  const shared = watcher;
  report(shared.alive);
  shared.listeners.add(report);
  return {
    stop() {
      shared.listeners.delete(report);
      if (shared.listeners.size > 0 || loopWatchers.get(maxStallMs) !== shared) return;
      clearInterval(shared.timer);
      loopWatchers.delete(maxStallMs);
    },
  };
}
