/**
 * One client connection: frames in, replies out, in order. Commands on one connection run one at
 * a time (drivers never pipeline on a pooled connection). A malformed or oversized frame closes this
 * connection with a logged reason; every other connection keeps working.
 */
import type { Socket } from 'node:net';
import type { Document } from 'bson';
import { runCommand } from '../commands/dispatch';
import type { ConnectionInfo, ServerState } from '../commands/context';
import { HELLO_COMMANDS } from '../protocol/handshake';
import { type Frame, FrameReader, ProtocolError } from './frame-reader';
import { encodeOpMsg, OP_MSG, parseOpMsg } from './op-msg';
import { encodeOpReply, OP_QUERY, parseOpQuery } from './op-query';

const OP_COMPRESSED = 2012;
let nextRequestId = 1;

export class Connection {
  private readonly reader = new FrameReader();
  private queue: Promise<void> = Promise.resolve();
  private closed = false;

  constructor(
    private readonly socket: Socket,
    private readonly server: ServerState,
    readonly info: ConnectionInfo,
  ) {
    socket.setNoDelay(true);
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('error', () => this.destroy());
    socket.on('close', () => (this.closed = true));
  }

  destroy(): void {
    this.closed = true;
    this.socket.destroy();
  }

  private onData(chunk: Buffer): void {
    if (this.closed) return;
    let frames: Frame[];
    try {
      frames = this.reader.push(chunk);
    } catch (err) {
      this.fail(err);
      return;
    }
    for (const frame of frames) {
      this.queue = this.queue
        .then(() => this.handle(frame))
        .catch((err: unknown) => this.fail(err));
    }
  }

  private async handle(frame: Frame): Promise<void> {
    if (this.closed) return;
    switch (frame.opCode) {
      case OP_MSG: {
        const request = parseOpMsg(frame.body, frame.header);
        const db = typeof request.command.$db === 'string' ? request.command.$db : 'admin';
        const reply = await runCommand(this.server, this.info, request.command, db);
        if (!request.moreToCome) this.send(encodeOpMsg(nextRequestId++, frame.requestId, reply));
        return;
      }
      case OP_QUERY: {
        const request = parseOpQuery(frame.body);
        const name = Object.keys(request.command)[0] ?? '';
        let reply: Document;
        if (request.collection.endsWith('.$cmd') && HELLO_COMMANDS.has(name)) {
          const db = request.collection.slice(0, -'.$cmd'.length);
          reply = await runCommand(this.server, this.info, request.command, db);
        } else {
          reply = {
            ok: 0,
            errmsg: `Unsupported OP_QUERY command: ${name}. The client driver may require an upgrade.`,
            code: 352,
            codeName: 'UnsupportedOpQueryCommand',
          };
        }
        this.send(encodeOpReply(nextRequestId++, frame.requestId, reply));
        return;
      }
      case OP_COMPRESSED:
        throw new ProtocolError('OP_COMPRESSED received but compression was never negotiated');
      default:
        throw new ProtocolError(`unsupported opCode ${frame.opCode}`);
    }
  }

  private send(buf: Buffer): void {
    if (!this.closed) this.socket.write(buf);
  }

  private fail(err: unknown): void {
    if (this.closed) return;
    const reason = err instanceof Error ? err.message : String(err);
    if (err instanceof ProtocolError) {
      this.server.logger.warn(
        { conn: this.info.id, remote: this.info.remote, reason },
        'closing connection: bad frame',
      );
    } else {
      this.server.logger.error(
        { conn: this.info.id, remote: this.info.remote, err },
        'closing connection: internal error',
      );
    }
    this.destroy();
  }
}
