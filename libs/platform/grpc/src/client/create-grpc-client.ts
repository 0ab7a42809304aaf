import {
  createChannel,
  createClientFactory,
  type Channel,
  type ChannelCredentials,
  type Client,
  type CompatServiceDefinition,
} from 'nice-grpc';
import { deadlineMiddleware } from 'nice-grpc-client-middleware-deadline';
import { errorDetailsClientMiddleware } from 'nice-grpc-error-details';
import { Metadata, type CallOptions, type ClientMiddlewareCall } from 'nice-grpc-common';
import { context as otelContext, SpanKind, SpanStatusCode, trace } from '@opentelemetry/api';
import type { ServiceTokenSigner } from '../security/service-token';
import { injectIntoMetadata, rpcAttributes } from '../server/trace-context';

const tracer = trace.getTracer('@trellis/platform/grpc');

/** A CLIENT span per unary call whose context travels in `traceparent` metadata. */
async function* clientTracing<Request, Response>(
  call: ClientMiddlewareCall<Request, Response>,
  options: CallOptions,
) {
  if (call.responseStream || call.requestStream) return yield* call.next(call.request, options);
  const attributes = rpcAttributes(call.method.path);
  const span = tracer.startSpan(`${attributes['rpc.service']}/${attributes['rpc.method']}`, {
    kind: SpanKind.CLIENT,
    attributes,
  });
  const metadata = Metadata(options.metadata);
  injectIntoMetadata(trace.setSpan(otelContext.active(), span), metadata);
  try {
    return yield* call.next(call.request, { ...options, metadata });
  } catch (err) {
    span.setStatus({ code: SpanStatusCode.ERROR, message: (err as Error).message });
    throw err;
  } finally {
    span.end();
  }
}

/** Adds a fresh (cached) service token for `audience` to every call's metadata. */
function serviceTokenMiddleware({
  signer,
  audience,
}: {
  signer: ServiceTokenSigner;
  audience: string;
}) {
  return async function* withServiceToken<Request, Response>(
    call: ClientMiddlewareCall<Request, Response>,
    options: CallOptions,
  ) {
    const metadata = Metadata(options.metadata);
    metadata.set('authorization', `Bearer ${await signer.token(audience)}`);
    return yield* call.next(call.request, { ...options, metadata });
  };
}

export interface GrpcClientSettings {
  /** `host:port`; resolved through DNS so every address behind a headless Service gets calls. */
  address: string;
  credentials?: ChannelCredentials;
  /** Applied to every call that sets no deadline of its own (default 10 s). */
  defaultDeadlineMs?: number;
  /** Attempts (including the first) for calls that fail with UNAVAILABLE (default 4). */
  maxAttempts?: number;
  /** Sends `authorization: Bearer <token for audience>` on every call. */
  serviceToken?: { signer: ServiceTokenSigner; audience: string };
  /** TLS target name override, when certificates name the service rather than the address. */
  tlsServerName?: string;
  /**
   * Largest response accepted (default 64 MiB; grpc-js's own default is 4 MiB). A response is
   * refused only after the server did the work, e.g. claimed the jobs it carries; the job-service
   * keeps its own responses under 4 MiB, and this keeps a client from being the weak link.
   */
  maxReceiveMessageBytes?: number;
}

/**
 * The grpc-js service config: round_robin over every resolved address, and retries with
 * backoff only for UNAVAILABLE (the one status that means the call did not run).
 */
export function serviceConfig(serviceNames: string[], maxAttempts: number): string {
  // grpc-js rejects a retry policy with fewer than 2 attempts: no policy means no retries.
  const retryPolicy =
    maxAttempts >= 2
      ? {
          maxAttempts,
          initialBackoff: '0.1s',
          maxBackoff: '2s',
          backoffMultiplier: 2,
          retryableStatusCodes: ['UNAVAILABLE'],
        }
      : undefined;
  return JSON.stringify({
    loadBalancingConfig: [{ round_robin: {} }],
    methodConfig: retryPolicy
      ? [{ name: serviceNames.map((service) => ({ service })), retryPolicy }]
      : [],
  });
}

export interface GrpcClientHandle<Definition extends CompatServiceDefinition> {
  client: Client<Definition, { deadline?: Date | number }>;
  channel: Channel;
  close(): void;
}

/** A typed client with a default deadline, keepalive, rich error details and UNAVAILABLE retries. */
export function createGrpcClient<Definition extends CompatServiceDefinition>(
  definition: Definition,
  settings: GrpcClientSettings,
): GrpcClientHandle<Definition> {
  const fullName = 'fullName' in definition ? String(definition.fullName) : undefined;
  const target = settings.address.includes('://') ? settings.address : `dns:///${settings.address}`;
  const channel = createChannel(target, settings.credentials, {
    'grpc.service_config': serviceConfig(fullName ? [fullName] : [], settings.maxAttempts ?? 4),
    'grpc.enable_retries': 1,
    'grpc.keepalive_time_ms': 30_000,
    'grpc.keepalive_timeout_ms': 10_000,
    'grpc.keepalive_permit_without_calls': 0,
    'grpc.max_receive_message_length': settings.maxReceiveMessageBytes ?? 64 * 1024 * 1024,
    ...(settings.tlsServerName ? { 'grpc.ssl_target_name_override': settings.tlsServerName } : {}),
  });
  const defaultDeadlineMs = settings.defaultDeadlineMs ?? 10_000;
  let factory = createClientFactory()
    .use(clientTracing)
    .use(errorDetailsClientMiddleware)
    .use(deadlineMiddleware);
  if (settings.serviceToken) factory = factory.use(serviceTokenMiddleware(settings.serviceToken));
  const client = factory.create(definition, channel, {
    '*': { deadline: defaultDeadlineMs },
  }) as Client<Definition, { deadline?: Date | number }>;
  return { client, channel, close: () => channel.close() };
}
