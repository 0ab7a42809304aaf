import type { CallContext } from 'nice-grpc';
import {
  CALLER_HEADER,
  IDENTITY_HEADER,
  parseSubjectAltNames,
  PEER_SAN_HEADER,
} from './peer-identity.interceptor';

/**
 * `1.2.3.4:5678` → `1.2.3.4`, `::1:5678` → `::1`, `::ffff:1.2.3.4:5678` → `1.2.3.4`: the peer
 * without its port, which a client picks freely by opening another connection.
 */
export function peerHost(peer: string): string {
  const bracketed = /^\[(.*)\](?::\d+)?$/.exec(peer);
  const host = bracketed ? bracketed[1] : peer.replace(/:\d+$/, '');
  return host.replace(/^::ffff:(\d+\.\d+\.\d+\.\d+)$/i, '$1');
}

/**
 * Who made a call, from credentials only, never from a header the client chose: the verified
 * service-token subject; else the client certificate's first subjectAltName (grpc-js exposes a
 * certificate only when the CA verified it, i.e. under mTLS); else the peer's IP address without
 * its port, so every unauthenticated caller on one host shares one identity.
 */
export function resolveCallerIdentity(call: {
  subject?: string;
  certificateNames(): string[];
  peer: string;
}): string {
  return call.subject ?? call.certificateNames()[0] ?? peerHost(call.peer);
}

/**
 * The caller's identity for per-caller decisions (rate limits, quotas) and the access log; see
 * `resolveCallerIdentity`. The kit sets it on every call it serves.
 */
export function callerIdentityOf(context: CallContext): string {
  return (
    context.metadata.get(IDENTITY_HEADER) ??
    resolveCallerIdentity({
      subject: context.metadata.get(CALLER_HEADER),
      certificateNames: () => parseSubjectAltNames(context.metadata.get(PEER_SAN_HEADER) ?? ''),
      peer: context.peer,
    })
  );
}
