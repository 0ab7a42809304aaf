import { ClientError, Status } from 'nice-grpc-common';
import { GroupCommit, outcomeOf, type BatchOutcome } from '@trellis/platform/batching';
import { rpcStatusError, type RpcStatus } from '@trellis/platform/grpc';

/** Entries per call of the job-service's batch RPCs at most. */
export const MAX_ENTRIES_PER_CALL = 100;

/**
 * JSON bytes per batch call at most, well under gRPC's default 4 MiB message limit: a batch of
 * large payloads must not become a request the service refuses, or a response (the jobs with
 * their payloads) the client refuses after the service has committed it.
 */
export const MAX_BATCH_JSON_BYTES = 1024 * 1024;

/** The size of a value as JSON, in UTF-16 code units (close to UTF-8 bytes for JSON payloads). */
export function jsonSize(value: unknown): number {
  return value === undefined ? 0 : JSON.stringify(value).length;
}

export interface BatchedCallSettings<Request, Response> {
  /** The batch RPC's path, for the errors of its entries. */
  path: string;
  /** The one-request RPC. */
  single(request: Request): Promise<Response>;
  /** The batch RPC: one result per request, in order; `status` unset or OK means success. */
  batch(requests: Request[]): Promise<Array<{ status?: RpcStatus; response: Response }>>;
  /** The JSON size of what a request carries (payload, result); batches stay within 1 MiB. */
  weigh(request: Request): number;
  /** Called once when the batch RPC turns out to be missing or not allowed for this caller. */
  onUnavailable(code: Status): void;
  /** Calls in flight at once (default 1: each batch is what queued while the previous ran). */
  maxInFlight?: number;
}

function isStatus(err: unknown, status: Status): boolean {
  return err instanceof ClientError && err.code === status;
}

/**
 * One-request calls that go out together: the requests made while a call is in flight are sent
 * in the next one through the batch RPC (up to 100), so a busy client makes one call for many
 * requests and an idle one adds no wait. Each caller gets its own response or the error the
 * one-request RPC would have thrown. A batch holds at most 100 requests and 1 MiB of their JSON.
 * A lone request, a batch RPC the service lacks (UNIMPLEMENTED) or denies this caller
 * (PERMISSION_DENIED), and a batch refused for one malformed entry (INVALID_ARGUMENT, before
 * anything was written) go through the one-request RPC, so every request still gets its own
 * answer.
 */
export function batchedCalls<Request, Response>(
  settings: BatchedCallSettings<Request, Response>,
): (request: Request) => Promise<Response> {
  let batchRpc = true;
  const oneByOne = (requests: Request[]): Promise<Array<BatchOutcome<Response>>> =>
    Promise.all(requests.map((request) => outcomeOf(settings.single(request))));
  const group = new GroupCommit<Request, Response>(
    async (requests) => {
      if (!batchRpc || requests.length === 1) return oneByOne(requests);
      let results: Awaited<ReturnType<typeof settings.batch>>;
      try {
        results = await settings.batch(requests);
      } catch (err) {
        // A service that predates the batch RPC, or a per-method policy that allows only the
        // single one: the same operations go one by one from now on.
        if (isStatus(err, Status.UNIMPLEMENTED) || isStatus(err, Status.PERMISSION_DENIED)) {
          batchRpc = false;
          settings.onUnavailable((err as ClientError).code);
          return oneByOne(requests);
        }
        // One malformed entry: the service refused the batch before writing anything, so each
        // request goes on its own and only that one fails. (Not so for RESOURCE_EXHAUSTED: a
        // client that refuses a response does so after the writes, and resending would repeat
        // them; the 1 MiB bound keeps batches far from the limits instead.)
        if (isStatus(err, Status.INVALID_ARGUMENT)) return oneByOne(requests);
        throw err;
      }
      return requests.map((_, i): BatchOutcome<Response> => {
        const result = results[i];
        if (!result)
          return { error: new Error(`${settings.path} returned no result for entry ${i}`) };
        if (!result.status || result.status.code === Status.OK) return { value: result.response };
        return { error: rpcStatusError(settings.path, result.status) };
      });
    },
    {
      maxBatch: MAX_ENTRIES_PER_CALL,
      weigh: settings.weigh,
      maxBatchWeight: MAX_BATCH_JSON_BYTES,
      maxInFlight: settings.maxInFlight,
    },
  );
  return (request) => group.submit(request);
}
