import {
  type ServerInterceptingCallInterface,
  type ServerInterceptor,
  ServerInterceptingCall,
} from '@grpc/grpc-js';

/** Metadata the server sets itself; any value a client sends under these names is dropped. */
export const PEER_SAN_HEADER = 'x-trellis-peer-san';
export const CALLER_HEADER = 'x-trellis-caller';
/** Who made the call (caller-identity.ts): token subject, certificate name or peer address. */
export const IDENTITY_HEADER = 'x-trellis-identity';

/**
 * A grpc-js interceptor (the only layer that sees the TLS session): removes spoofed internal
 * headers and records the names in the client certificate's subjectAltName for the auth middleware.
 */
export const peerIdentityInterceptor: ServerInterceptor = (
  _method,
  call: ServerInterceptingCallInterface,
) =>
  new ServerInterceptingCall(call, {
    start(next) {
      next({
        onReceiveMetadata(metadata, nextMetadata) {
          metadata.remove(PEER_SAN_HEADER);
          metadata.remove(CALLER_HEADER);
          metadata.remove(IDENTITY_HEADER);
          const san = call.getAuthContext().sslPeerCertificate?.subjectaltname;
          if (san) metadata.set(PEER_SAN_HEADER, san);
          nextMetadata(metadata);
        },
      });
    },
  });

/** `DNS:account-service, URI:spiffe://…` → the DNS and URI names. */
export function parseSubjectAltNames(san: string): string[] {
  return san
    .split(',')
    .map((part) => part.trim())
    .map((part) => part.replace(/^(DNS|URI):/, ''))
    .filter((name) => name.length > 0);
}
