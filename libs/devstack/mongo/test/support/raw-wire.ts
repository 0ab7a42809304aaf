/**
 * A deliberately tiny, independent wire client for protocol-level tests: builds OP_MSG/OP_QUERY
 * frames by hand (including kind-1 sections, checksums and broken frames) and reads replies.
 */
import { connect as netConnect, type Socket } from 'node:net';
import { BSON, type Document } from 'bson';

export interface Reply {
  opCode: number;
  responseTo: number;
  doc: Document;
}

let requestId = 1000;

export function crc32c(buf: Uint8Array): number {
  let crc = 0xffffffff;
  for (const byte of buf) {
    crc ^= byte;
    for (let k = 0; k < 8; k++) crc = crc & 1 ? (crc >>> 1) ^ 0x82f63b78 : crc >>> 1;
  }
  return (crc ^ 0xffffffff) >>> 0;
}

function header(length: number, id: number, opCode: number): Buffer {
  const h = Buffer.alloc(16);
  h.writeInt32LE(length, 0);
  h.writeInt32LE(id, 4);
  h.writeInt32LE(0, 8);
  h.writeInt32LE(opCode, 12);
  return h;
}

export function opMsg(
  body: Document,
  opts: {
    sequences?: Record<string, Document[]>;
    moreToCome?: boolean;
    checksum?: 'good' | 'bad';
  } = {},
): { id: number; frame: Buffer } {
  const id = requestId++;
  const parts: Buffer[] = [Buffer.from([0]), Buffer.from(BSON.serialize(body))];
  for (const [name, docs] of Object.entries(opts.sequences ?? {})) {
    const payload = Buffer.concat([
      Buffer.from(name + '\0'),
      ...docs.map((d) => Buffer.from(BSON.serialize(d))),
    ]);
    const size = Buffer.alloc(4);
    size.writeInt32LE(payload.length + 4);
    parts.push(Buffer.from([1]), size, payload);
  }
  let flags = 0;
  if (opts.moreToCome) flags |= 2;
  if (opts.checksum) flags |= 1;
  const flagBuf = Buffer.alloc(4);
  flagBuf.writeUInt32LE(flags);
  const content = Buffer.concat([flagBuf, ...parts]);
  const length = 16 + content.length + (opts.checksum ? 4 : 0);
  let frame = Buffer.concat([header(length, id, 2013), content]);
  if (opts.checksum) {
    const sum = Buffer.alloc(4);
    sum.writeUInt32LE(opts.checksum === 'good' ? crc32c(frame) : (crc32c(frame) ^ 1) >>> 0);
    frame = Buffer.concat([frame, sum]);
  }
  return { id, frame };
}

export function opQuery(collection: string, query: Document): { id: number; frame: Buffer } {
  const id = requestId++;
  const flags = Buffer.alloc(4);
  const skipReturn = Buffer.alloc(8);
  skipReturn.writeInt32LE(0, 0);
  skipReturn.writeInt32LE(-1, 4);
  const content = Buffer.concat([
    flags,
    Buffer.from(collection + '\0'),
    skipReturn,
    Buffer.from(BSON.serialize(query)),
  ]);
  return { id, frame: Buffer.concat([header(16 + content.length, id, 2004), content]) };
}

/** A connection that queues replies and reports when the server closes it. */
export class RawConnection {
  private buffer = Buffer.alloc(0);
  private readonly replies: Reply[] = [];
  private waiters: Array<() => void> = [];
  closed = false;

  private constructor(private readonly socket: Socket) {
    socket.on('data', (chunk: Buffer) => {
      this.buffer = Buffer.concat([this.buffer, chunk]);
      while (this.buffer.length >= 4 && this.buffer.length >= this.buffer.readInt32LE(0)) {
        const len = this.buffer.readInt32LE(0);
        const frame = this.buffer.subarray(0, len);
        this.buffer = this.buffer.subarray(len);
        const opCode = frame.readInt32LE(12);
        const docStart = opCode === 1 ? 16 + 20 : 16 + 5;
        this.replies.push({
          opCode,
          responseTo: frame.readInt32LE(8),
          doc: BSON.deserialize(frame.subarray(docStart), { promoteLongs: false }),
        });
      }
      this.wake();
    });
    const onClose = () => {
      this.closed = true;
      this.wake();
    };
    socket.on('close', onClose);
    socket.on('error', onClose);
  }

  static open(host: string, port: number): Promise<RawConnection> {
    return new Promise((resolve, reject) => {
      const socket = netConnect({ host, port }, () => resolve(new RawConnection(socket)));
      socket.once('error', reject);
    });
  }

  send(frame: Buffer): void {
    this.socket.write(frame);
  }

  private wake(): void {
    const w = this.waiters;
    this.waiters = [];
    for (const f of w) f();
  }

  private async until(cond: () => boolean, what: string, timeoutMs = 5000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!cond()) {
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`timed out waiting for ${what}`);
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, left);
        this.waiters.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
    }
  }

  async reply(): Promise<Reply> {
    await this.until(() => this.replies.length > 0 || this.closed, 'a reply');
    const r = this.replies.shift();
    if (!r) throw new Error('connection closed before a reply');
    return r;
  }

  async command(body: Document, opts?: Parameters<typeof opMsg>[1]): Promise<Reply> {
    const { id, frame } = opMsg(body, opts);
    this.send(frame);
    const r = await this.reply();
    if (r.responseTo !== id) throw new Error(`reply to ${r.responseTo}, expected ${id}`);
    return r;
  }

  async waitClosed(): Promise<void> {
    await this.until(() => this.closed, 'the server to close the connection');
  }

  close(): void {
    this.socket.destroy();
  }
}

export function hostPort(uri: string): { host: string; port: number } {
  const m = uri.match(/^mongodb:\/\/([^/,?]+)/);
  if (!m) throw new Error(`cannot parse ${uri}`);
  const [host, port] = m[1].split(':');
  return { host, port: Number(port ?? 27017) };
}
