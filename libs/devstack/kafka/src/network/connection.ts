import { type Socket } from 'node:net';
import { HANDLERS } from '../api';
import { type BrokerContext } from '../broker-context';
import {
  API_NAMES,
  ApiKey,
  IMPLEMENTED_VERSIONS,
  isApiKey,
  usesFlexibleHeader,
} from '../protocol/api-keys';
import { MalformedRequestError, Reader } from '../protocol/reader';

/** Kafka's socket.request.max.bytes default. */
const MAX_REQUEST_BYTES = 100 * 1024 * 1024;
/** apiKey + apiVersion + correlationId + clientId length. */
const MIN_HEADER_BYTES = 10;

/** A request the broker cannot answer in a well-formed way; the connection is closed. */
class UnsupportedRequestError extends Error {
  override readonly name = 'UnsupportedRequestError';
}

/**
 * One client connection. Frames are `int32 size | header | body`; requests are handled strictly
 * one after another and answered in order, like a Kafka broker that mutes a channel while a
 * request is in flight (a parked JoinGroup or a long-polling Fetch holds later requests back).
 * A malformed or unsupported request closes this connection only, with a logged reason.
 */
export class Connection {
  private pending: Buffer[] = [];
  private pendingBytes = 0;
  private readonly frames: Buffer[] = [];
  private busy = false;
  private closed = false;

  constructor(
    private readonly socket: Socket,
    private readonly broker: BrokerContext,
  ) {
    socket.setNoDelay(true);
    socket.on('data', (chunk) => this.onData(chunk));
    socket.on('error', (err) => this.broker.logger.debug({ err }, 'connection error'));
    socket.on('close', () => {
      this.closed = true;
    });
  }

  get remote(): string {
    return `${this.socket.remoteAddress ?? '?'}:${this.socket.remotePort ?? '?'}`;
  }

  destroy(): void {
    this.closed = true;
    this.socket.destroy();
  }

  private onData(chunk: Buffer): void {
    if (this.closed) return;
    this.pending.push(chunk);
    this.pendingBytes += chunk.length;
    while (this.pendingBytes >= 4) {
      let head = this.pending[0] as Buffer;
      if (head.length < 4) head = this.flatten();
      const size = head.readInt32BE(0);
      if (size < MIN_HEADER_BYTES || size > MAX_REQUEST_BYTES) {
        return this.close(`invalid request size ${size}`);
      }
      if (this.pendingBytes < 4 + size) break;
      const all = this.flatten();
      this.frames.push(all.subarray(4, 4 + size));
      const rest = all.subarray(4 + size);
      this.pending = rest.length > 0 ? [rest] : [];
      this.pendingBytes = rest.length;
    }
    void this.pump();
  }

  private flatten(): Buffer {
    const all =
      this.pending.length === 1 ? (this.pending[0] as Buffer) : Buffer.concat(this.pending);
    this.pending = [all];
    return all;
  }

  private async pump(): Promise<void> {
    if (this.busy) return;
    this.busy = true;
    try {
      for (let frame = this.frames.shift(); frame && !this.closed; frame = this.frames.shift()) {
        await this.handle(frame);
      }
    } finally {
      this.busy = false;
    }
  }

  private async handle(frame: Buffer): Promise<void> {
    const r = new Reader(frame);
    let apiKey = -1;
    let apiVersion = -1;
    try {
      apiKey = r.int16();
      apiVersion = r.int16();
      const correlationId = r.int32();
      const clientId = r.nullableString() ?? '';
      if (usesFlexibleHeader(apiKey, apiVersion)) r.skipTaggedFields();
      if (!isApiKey(apiKey)) {
        throw new UnsupportedRequestError(`unsupported API key ${apiKey}`);
      }
      const range = IMPLEMENTED_VERSIONS[apiKey];
      if (apiKey !== ApiKey.ApiVersions && (apiVersion < range.min || apiVersion > range.max)) {
        throw new UnsupportedRequestError(
          `${API_NAMES[apiKey]} v${apiVersion} is not implemented (only v${range.min}-v${range.max})`,
        );
      }
      const body = await HANDLERS[apiKey](
        {
          broker: this.broker,
          apiVersion,
          correlationId,
          clientId,
          clientHost: this.socket.remoteAddress ?? '',
        },
        r,
      );
      if (body === null || this.closed) return;
      const payload = body.toBuffer();
      const out = Buffer.allocUnsafe(8 + payload.length);
      out.writeInt32BE(4 + payload.length, 0);
      out.writeInt32BE(correlationId, 4); // response header v0 (also for ApiVersions v3)
      payload.copy(out, 8);
      this.socket.write(out);
    } catch (err) {
      if (err instanceof MalformedRequestError || err instanceof UnsupportedRequestError) {
        const api = API_NAMES[apiKey] ?? `key ${apiKey}`;
        return this.close(`${err.message} (${api} v${apiVersion})`);
      }
      this.broker.logger.error({ err, apiKey, apiVersion }, 'request handler failed');
      this.close('internal error');
    }
  }

  private close(reason: string): void {
    if (this.closed) return;
    this.broker.logger.warn({ remote: this.remote, reason }, 'closing connection');
    this.destroy();
  }
}
