import { RichClientError } from 'nice-grpc-error-details';
import { decodeErrorDetails } from '../server/nice-grpc-internals';

/**
 * The error a call to `path` would have thrown had it ended with `status` (a google.rpc.Status
 * from one entry of a batch RPC's response), details decoded as for a failed call, so callers
 * handle a batch entry's failure exactly like a single call's.
 */
export function rpcStatusError(
  path: string,
  status: { code: number; message: string; details: Array<{ typeUrl: string; value: Uint8Array }> },
): RichClientError {
  return new RichClientError(
    path,
    status.code,
    status.message,
    decodeErrorDetails(
      status.details.map((d) => ({ $type: 'google.protobuf.Any' as const, ...d })),
    ),
  );
}
