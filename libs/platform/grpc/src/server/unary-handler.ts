import {
  Metadata as GrpcMetadata,
  type handleUnaryCall,
  type sendUnaryData,
  type ServerUnaryCall,
} from '@grpc/grpc-js';
import { context as otelContext } from '@opentelemetry/api';
import { Metadata, ServerError, Status, type CallContext } from 'nice-grpc';
import { RichServerError } from 'nice-grpc-error-details';
import type { Logger } from '@trellis/platform/logging';
import type { createAuthenticator } from '../security/auth.middleware';
import { resolveCallerIdentity } from '../security/caller-identity';
import {
  CALLER_HEADER,
  IDENTITY_HEADER,
  parseSubjectAltNames,
  PEER_SAN_HEADER,
} from '../security/peer-identity.interceptor';
import { mapError, statusDetailsOf } from './error-mapper.middleware';
import type { MethodOptions, RpcObservability } from './observability.middleware';
import { RejectedRequest } from './request-bounds';
import { rejectionError } from './streaming-handlers';
import { contextFromGrpcMetadata } from './trace-context';

export type UnaryImplementation = (request: unknown, context: CallContext) => Promise<unknown>;

/** What runs around every unary handler, in this order. */
export interface UnaryPipeline {
  /** Span, access log line and RED metrics. */
  observability: RpcObservability;
  /** Service-token authentication and authorization, when the server has it. */
  authenticator?: ReturnType<typeof createAuthenticator>;
  /**
   * Application services: every error becomes a status through `mapError` (domain errors with
   * google.rpc details). Without it (health), nice-grpc's rule: ServerError as is, an abort is
   * CANCELLED, anything else UNKNOWN.
   */
  errorLogger?: Logger;
}

/**
 * The `CallContext` handlers receive, as nice-grpc builds it, but lazy: request metadata is
 * converted, the peer looked up and the AbortController created only when a handler reads them.
 * Its properties are getters, so spreading it (`{ ...context }`) copies nothing.
 */
export class UnaryCallContext implements CallContext {
  /** The authenticated caller, set before the handler runs. */
  caller: string | undefined;
  /** Set once the response or error has been handed to grpc-js. */
  done = false;
  private convertedMetadata: Metadata | undefined;
  private controller: AbortController | undefined;
  private peerAddress: string | undefined;
  private callerIdentity: string | undefined;
  private responseHeader: Metadata | undefined;
  private responseTrailer: Metadata | undefined;
  private headerSent = false;

  constructor(private readonly call: ServerUnaryCall<unknown, unknown>) {}

  /** Headers only the server may set; whatever a client sends under these names is dropped. */
  private static isInternal(key: string): boolean {
    return key === CALLER_HEADER || key === PEER_SAN_HEADER || key === IDENTITY_HEADER;
  }

  /**
   * Who made the call (caller-identity.ts): the authenticated subject, else the verified client
   * certificate's name, else the peer's address without port. Read once the caller is known.
   */
  get identity(): string {
    return (this.callerIdentity ??= resolveCallerIdentity({
      subject: this.caller,
      certificateNames: () => this.certificateNames(),
      peer: this.peer,
    }));
  }

  /**
   * Request metadata without the headers only the server may set, plus the verified caller and
   * the caller's identity.
   */
  get metadata(): Metadata {
    if (!this.convertedMetadata) {
      const metadata = Metadata();
      const map = this.call.metadata.getMap();
      for (const key in map) {
        if (UnaryCallContext.isInternal(key)) continue;
        metadata.set(key, this.call.metadata.get(key) as string[]);
      }
      if (this.caller !== undefined) metadata.set(CALLER_HEADER, this.caller);
      metadata.set(IDENTITY_HEADER, this.identity);
      this.convertedMetadata = metadata;
    }
    return this.convertedMetadata;
  }

  get peer(): string {
    return (this.peerAddress ??= this.call.getPeer());
  }

  /** Aborts when the client cancels, the deadline passes or shutdown cancels the call. */
  get signal(): AbortSignal {
    if (!this.controller) {
      const controller = new AbortController();
      this.controller = controller;
      if (this.call.cancelled) controller.abort();
      else
        this.call.once('cancelled', () => {
          if (!this.done) controller.abort();
        });
    }
    return this.controller.signal;
  }

  get header(): Metadata {
    return (this.responseHeader ??= Metadata());
  }

  get trailer(): Metadata {
    return (this.responseTrailer ??= Metadata());
  }

  sendHeader(): void {
    if (this.headerSent) return;
    this.headerSent = true;
    if (this.responseHeader && !isEmpty(this.responseHeader))
      this.call.sendMetadata(toGrpcMetadata(this.responseHeader));
  }

  /** The trailer to send, when a handler or middleware wrote one. */
  trailerToSend(): GrpcMetadata | undefined {
    return this.responseTrailer && !isEmpty(this.responseTrailer)
      ? toGrpcMetadata(this.responseTrailer)
      : undefined;
  }

  /** The client certificate's subjectAltName names (mTLS). */
  certificateNames(): string[] {
    const san = this.call.getAuthContext().sslPeerCertificate?.subjectaltname;
    return san ? parseSubjectAltNames(san) : [];
  }

  /** A request header's first value, as sent (internal headers excluded). */
  requestHeader(name: string): string | undefined {
    if (UnaryCallContext.isInternal(name)) return undefined;
    const [value] = this.call.metadata.get(name);
    return typeof value === 'string' ? value : undefined;
  }
}

/**
 * A grpc-js unary handler that gives `implementation` the same guarantees as the kit's nice-grpc
 * middleware chain (span → access log and metrics → auth → error details → error mapper), in one
 * plain async function per call instead of a chain of async generators.
 */
export function unaryHandler(
  path: string,
  implementation: UnaryImplementation,
  pipeline: UnaryPipeline,
  options?: MethodOptions,
): handleUnaryCall<unknown, unknown> {
  const { observability, errorLogger } = pipeline;
  const observed = observability.method(path, options);
  const authenticator =
    pipeline.authenticator && !pipeline.authenticator.isPublic(path)
      ? pipeline.authenticator
      : undefined;

  const run = async (request: unknown, context: UnaryCallContext): Promise<unknown> => {
    if (authenticator) {
      context.caller = await authenticator.authenticate({
        method: path,
        get peer() {
          return context.peer;
        },
        header: (name) => context.requestHeader(name),
        certificateNames: () => context.certificateNames(),
      });
    }
    // Out of bounds or undecodable (request-bounds.ts): refused before the handler sees it.
    if (request instanceof RejectedRequest) throw rejectionError(request);
    const response = await implementation(request, context);
    if (response == null) throw new Error(`${path}: the handler returned no response`);
    return response;
  };

  return (call: ServerUnaryCall<unknown, unknown>, callback: sendUnaryData<unknown>) => {
    const started = performance.now();
    const context = new UnaryCallContext(call);
    const traced = observability.startSpan(observed, contextFromGrpcMetadata, call.metadata);
    const pending = traced
      ? otelContext.with(traced.context, run, undefined, call.request, context)
      : run(call.request, context);
    pending.then(
      (response) => {
        context.done = true;
        context.sendHeader();
        callback(null, response, context.trailerToSend());
        observability.finish(observed, started, Status.OK, undefined, context, traced?.span);
      },
      (err: unknown) => {
        context.done = true;
        const error = errorLogger
          ? mapError(err, errorLogger, path, call.cancelled)
          : platformError(path, err);
        if (error instanceof RichServerError)
          context.trailer.set('grpc-status-details-bin', statusDetailsOf(error));
        context.sendHeader();
        callback({ code: error.code, details: error.details, metadata: context.trailerToSend() });
        observability.finish(observed, started, error.code, error.details, context, traced?.span);
      },
    );
  };
}

/** nice-grpc's rule for services without the error mapper (createErrorStatusObject). */
function platformError(path: string, err: unknown): ServerError {
  if (err instanceof ServerError) return err;
  if ((err as Error | undefined)?.name === 'AbortError')
    return new ServerError(Status.CANCELLED, 'The operation was cancelled');
  process.emitWarning(
    `${path}: Uncaught error in server implementation method. ${err instanceof Error ? err.stack : String(err)}`,
  );
  return new ServerError(Status.UNKNOWN, 'Unknown server error occurred');
}

function isEmpty(metadata: Metadata): boolean {
  for (const _ of metadata) return false;
  return true;
}

function toGrpcMetadata(metadata: Metadata): GrpcMetadata {
  const converted = new GrpcMetadata();
  for (const [key, values] of metadata) {
    for (const value of values)
      converted.add(key, typeof value === 'string' ? value : Buffer.from(value));
  }
  return converted;
}
