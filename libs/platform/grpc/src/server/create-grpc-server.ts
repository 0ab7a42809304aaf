import type { ServerCredentials } from '@grpc/grpc-js';
import { createServer, type CompatServiceDefinition, type ServiceImplementation } from 'nice-grpc';
import { errorDetailsServerMiddleware } from 'nice-grpc-error-details';
import { HealthDefinition, HealthServiceImpl, HealthState } from 'nice-grpc-server-health';
import type { Registry } from 'prom-client';
import type { Logger } from '@trellis/platform/logging';
import { errorMapperMiddleware } from './error-mapper.middleware';
import { observabilityMiddleware } from './observability.middleware';
import {
  ServerReflection,
  ServerReflectionService,
  ServerReflectionV1AlphaService,
  servicesInDescriptorSet,
} from './reflection';
import { createTerminator } from './terminator.middleware';
import { authMiddleware, type AuthSettings } from '../security/auth.middleware';
import { peerIdentityInterceptor } from '../security/peer-identity.interceptor';

export interface GrpcServerSettings {
  logger: Logger;
  /** RED metrics go here when given. */
  metrics?: Registry;
  /** The FileDescriptorSet `buf build` produced; reflection serves exactly these bytes. */
  descriptorSet: Uint8Array;
  /** Max inbound message size in bytes (default 4 MiB, grpc's own default). */
  maxReceiveMessageBytes?: number;
  /** How long shutdown waits for in-flight calls before cancelling them (default 10 s). */
  shutdownGraceMs?: number;
  /** HTTP/2 streams one connection may have open at once (default 100). */
  maxConcurrentStreams?: number;
  /** Extra grpc-js server options. */
  channelOptions?: Record<string, string | number>;
  /** TLS (optionally mTLS) credentials `listen` uses; plaintext when absent. */
  credentials?: ServerCredentials;
  /** Service-token authentication and per-method authorization; off when absent. */
  auth?: Omit<AuthSettings, 'logger'>;
}

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
  /** Readiness: SERVING once dependencies are reachable, NOT_SERVING otherwise. */
  setServing(serving: boolean): void;
  /**
   * Graceful stop: health NOT_SERVING, stop accepting calls, let in-flight calls finish up to the
   * grace period, then cancel what is left.
   */
  shutdown(): Promise<void>;
}

/**
 * The server every Trellis service runs: logging, RED metrics and the one error mapper as
 * middleware; grpc.health.v1 with a status per service; server reflection (v1 and v1alpha)
 * over the `buf build` descriptor set; graceful shutdown.
 */
export function createGrpcServer(settings: GrpcServerSettings): GrpcServer {
  const { logger } = settings;
  const terminator = createTerminator();
  const serverOptions = {
    'grpc.max_receive_message_length': settings.maxReceiveMessageBytes ?? 4 * 1024 * 1024,
    'grpc.max_concurrent_streams': settings.maxConcurrentStreams ?? 100,
    // Ping idle connections so half-open ones are closed instead of piling up.
    'grpc.keepalive_time_ms': 120_000,
    'grpc.keepalive_timeout_ms': 20_000,
    ...settings.channelOptions,
    interceptors: [peerIdentityInterceptor],
  };
  let server = createServer(serverOptions as unknown as Parameters<typeof createServer>[0]).use(
    observabilityMiddleware(logger, settings.metrics),
  );
  if (settings.auth) server = server.use(authMiddleware({ ...settings.auth, logger }));
  // Application services also get the error mapper; health and reflection never throw domain errors.
  const withErrorMapping = server
    .with(errorDetailsServerMiddleware)
    .with(errorMapperMiddleware(logger));

  const health = HealthState();
  health.setStatus('unhealthy');
  const serviceNames: string[] = [];
  // Only Watch streams forever; the terminator ends them at shutdown.
  server.with(terminator.middleware).add(HealthDefinition, HealthServiceImpl(health));

  const described = servicesInDescriptorSet(settings.descriptorSet);
  const reflection = ServerReflection(settings.descriptorSet, [...described]);
  server.add(ServerReflectionService, reflection);
  server.add(ServerReflectionV1AlphaService, reflection);

  let shuttingDown: Promise<void> | undefined;

  return {
    add(definition, implementation, fullName) {
      withErrorMapping.add(definition, implementation);
      const name = fullName ?? ('fullName' in definition ? String(definition.fullName) : undefined);
      if (name) {
        if (!described.has(name)) {
          logger.warn(
            { service: name },
            'service is not in the descriptor set; reflection cannot describe it',
          );
        }
        serviceNames.push(name);
        health.setStatus('unhealthy', name);
      }
    },
    listen: (address, credentials) => server.listen(address, credentials ?? settings.credentials),
    setServing(serving) {
      if (shuttingDown && serving) return;
      const status = serving ? 'healthy' : 'unhealthy';
      health.setStatus(status);
      for (const name of serviceNames) health.setStatus(status, name);
    },
    shutdown() {
      shuttingDown ??= (async () => {
        this.setServing(false);
        health.setStatus('unhealthy');
        for (const name of serviceNames) health.setStatus('unhealthy', name);
        terminator.terminate();
        const graceMs = settings.shutdownGraceMs ?? 10_000;
        let timer: NodeJS.Timeout | undefined;
        const forced = new Promise<'forced'>((resolve) => {
          timer = setTimeout(() => resolve('forced'), graceMs);
        });
        const outcome = await Promise.race([
          server.shutdown().then(() => 'drained' as const),
          forced,
        ]);
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
