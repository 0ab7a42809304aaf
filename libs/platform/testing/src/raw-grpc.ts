import * as grpc from '@grpc/grpc-js';
import { BadRequest } from 'nice-grpc-error-details';
import { Status as RpcStatus } from 'nice-grpc-error-details/lib/proto/google/rpc/status';

/** What a raw call got back. */
export interface RawCallResult {
  /** The gRPC status code (0 = OK). */
  code: number;
  details: string;
  /** google.rpc.BadRequest field violations from `grpc-status-details-bin`, if any. */
  fieldViolations: Array<{ field: string; description: string }>;
}

const BAD_REQUEST_URL = 'type.googleapis.com/google.rpc.BadRequest';
const identity = (bytes: Buffer): Buffer => bytes;

/**
 * A gRPC client that sends request bytes exactly as given (no serializer), for hostile-input
 * tests: truncated, oversized or malformed messages a generated client could never produce.
 */
export class RawGrpcClient {
  private readonly client: grpc.Client;

  constructor(address: string, options: grpc.ClientOptions = {}) {
    this.client = new grpc.Client(address, grpc.credentials.createInsecure(), {
      'grpc.max_send_message_length': -1,
      'grpc.max_receive_message_length': -1,
      // Multi-MiB replies (a page of 1 MiB templates) would otherwise crawl through 64 KiB windows.
      'grpc-node.flow_control_window': 16 * 1024 * 1024,
      ...options,
    });
  }

  /** One unary call of `path` (`/package.Service/Method`) with `bytes` as the request. */
  call(path: string, bytes: Uint8Array, deadlineMs = 1_000): Promise<RawCallResult> {
    return new Promise((resolve) => {
      let trailer: grpc.Metadata | undefined;
      const call = this.client.makeUnaryRequest(
        path,
        identity,
        identity,
        Buffer.from(bytes),
        new grpc.Metadata(),
        { deadline: Date.now() + deadlineMs },
        (err: grpc.ServiceError | null) => {
          resolve({
            code: err ? err.code : grpc.status.OK,
            details: err ? err.details : '',
            fieldViolations: violationsOf(err?.metadata ?? trailer),
          });
        },
      );
      call.on('status', (status: grpc.StatusObject) => (trailer = status.metadata));
    });
  }

  close(): void {
    this.client.close();
  }
}

function violationsOf(metadata: grpc.Metadata | undefined): RawCallResult['fieldViolations'] {
  const [bin] = metadata?.get('grpc-status-details-bin') ?? [];
  if (!Buffer.isBuffer(bin)) return [];
  return RpcStatus.decode(bin)
    .details.filter((any) => any.typeUrl === BAD_REQUEST_URL)
    .flatMap((any) => BadRequest.decode(any.value).fieldViolations)
    .map(({ field, description }) => ({ field, description }));
}
