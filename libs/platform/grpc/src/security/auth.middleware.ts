import { ServerError, Status, type CallContext, type ServerMiddlewareCall } from 'nice-grpc';
import type { Logger } from '@trellis/platform/logging';
import { isAllowed, type AuthorizationPolicy } from './authorization-policy';
import { resolveCallerIdentity } from './caller-identity';
import { CALLER_HEADER, parseSubjectAltNames, PEER_SAN_HEADER } from './peer-identity.interceptor';
import { InvalidTokenError, type ServiceTokenVerifier } from './service-token';

export interface AuthSettings {
  verifier: ServiceTokenVerifier;
  policy: AuthorizationPolicy;
  /** In mTLS mode the client certificate's SAN must name the token's subject. */
  requireCertificateMatch: boolean;
  logger: Logger;
  /** Method path prefixes callable without a token: health (probes) and reflection by default. */
  publicPrefixes?: string[];
}

const DEFAULT_PUBLIC = [
  '/grpc.health.v1.Health/',
  '/grpc.reflection.v1.',
  '/grpc.reflection.v1alpha.',
];

/** What authentication needs to know of one call. */
export interface CallCredentials {
  method: string;
  peer: string;
  /** A request header (first value). */
  header(name: string): string | undefined;
  /** The client certificate's subjectAltName names (mTLS), empty without one. */
  certificateNames(): string[];
}

/**
 * Authenticates a call with a service token (`authorization: Bearer <jwt>`) and authorizes it
 * against the per-method policy: missing/invalid/expired → UNAUTHENTICATED, valid but not allowed
 * → PERMISSION_DENIED. Both are logged as security events, never with the token. Resolves with the
 * verified subject, or `undefined` for a public method.
 */
export function createAuthenticator(settings: AuthSettings) {
  const publicPrefixes = settings.publicPrefixes ?? DEFAULT_PUBLIC;
  const security = settings.logger.child({ component: 'security' });
  const isPublic = (method: string) => publicPrefixes.some((prefix) => method.startsWith(prefix));
  return {
    isPublic,
    async authenticate(call: CallCredentials): Promise<string | undefined> {
      const { method } = call;
      if (isPublic(method)) return undefined;
      // Built only for a rejection. `caller`: who it was by the transport (certificate name,
      // else address) when no token says so.
      const eventFor = (subject?: string) => ({
        event: 'security',
        'rpc.method': method,
        peer: call.peer,
        caller: resolveCallerIdentity({
          subject,
          certificateNames: () => call.certificateNames(),
          peer: call.peer,
        }),
      });

      const header = call.header('authorization') ?? '';
      const token = /^Bearer\s+(\S+)$/i.exec(header)?.[1];
      if (!token) {
        security.warn(
          { ...eventFor(), outcome: 'unauthenticated', reason: 'missing bearer token' },
          'call rejected',
        );
        throw new ServerError(Status.UNAUTHENTICATED, 'a service token is required');
      }
      let subject: string;
      try {
        subject = await settings.verifier.verify(token);
      } catch (err) {
        const reason = err instanceof InvalidTokenError ? err.message : 'verification failed';
        security.warn({ ...eventFor(), outcome: 'unauthenticated', reason }, 'call rejected');
        throw new ServerError(Status.UNAUTHENTICATED, 'invalid service token');
      }
      if (settings.requireCertificateMatch && !call.certificateNames().includes(subject)) {
        security.warn(
          {
            ...eventFor(),
            outcome: 'unauthenticated',
            subject,
            reason: 'certificate SAN does not match token subject',
          },
          'call rejected',
        );
        throw new ServerError(
          Status.UNAUTHENTICATED,
          'client certificate does not match the service token',
        );
      }
      if (!isAllowed(settings.policy, method, subject)) {
        security.warn(
          { ...eventFor(subject), outcome: 'permission_denied', subject },
          'call rejected',
        );
        throw new ServerError(Status.PERMISSION_DENIED, `${subject} may not call ${method}`);
      }
      return subject;
    },
  };
}

/**
 * `createAuthenticator` as a nice-grpc middleware (the streaming path; unary calls authenticate
 * directly). The verified subject reaches handlers as the `x-trellis-caller` metadata value.
 */
export function authMiddleware(settings: AuthSettings) {
  const auth = createAuthenticator(settings);
  return async function* authenticate<Request, Response>(
    call: ServerMiddlewareCall<Request, Response>,
    context: CallContext,
  ) {
    const method = call.method.path;
    if (auth.isPublic(method)) return yield* call.next(call.request, context);
    const subject = await auth.authenticate({
      method,
      peer: context.peer,
      header(name) {
        const value = context.metadata.get(name);
        return typeof value === 'string' ? value : undefined;
      },
      certificateNames: () => parseSubjectAltNames(context.metadata.get(PEER_SAN_HEADER) ?? ''),
    });
    if (subject !== undefined) context.metadata.set(CALLER_HEADER, subject);
    return yield* call.next(call.request, context);
  };
}

/** The authenticated calling service, when the server runs with authentication. */
export function callerOf(context: CallContext): string | undefined {
  return context.metadata.get(CALLER_HEADER);
}
