/**
 * Splits a TCP byte stream into MongoDB wire frames. Every frame starts with a 16-byte header:
 * int32 messageLength (including the header), int32 requestID, int32 responseTo, int32 opCode.
 * A frame that cannot be valid (too short, larger than maxMessageSizeBytes) is a ProtocolError;
 * the server closes that connection and nothing else.
 */
export const HEADER_SIZE = 16;
/** The `maxMessageSizeBytes` we advertise in hello. */
export const MAX_MESSAGE_SIZE = 48_000_000;

export interface Frame {
  requestId: number;
  responseTo: number;
  opCode: number;
  /** The 16 header bytes (needed for the OP_MSG checksum). */
  header: Buffer;
  /** The bytes after the 16-byte header. */
  body: Buffer;
}

export class ProtocolError extends Error {
  override name = 'ProtocolError';
}

export class FrameReader {
  private chunks: Buffer[] = [];
  private buffered = 0;

  /** Adds bytes from the socket; returns every complete frame they finish. */
  push(chunk: Buffer): Frame[] {
    this.chunks.push(chunk);
    this.buffered += chunk.length;
    const frames: Frame[] = [];
    while (this.buffered >= 4) {
      const head = this.peek(4);
      const length = head.readInt32LE(0);
      if (length < HEADER_SIZE) throw new ProtocolError(`frame length ${length} is below 16`);
      if (length > MAX_MESSAGE_SIZE) {
        throw new ProtocolError(
          `frame length ${length} exceeds maxMessageSizeBytes ${MAX_MESSAGE_SIZE}`,
        );
      }
      if (this.buffered < length) break;
      const frame = this.take(length);
      frames.push({
        requestId: frame.readInt32LE(4),
        responseTo: frame.readInt32LE(8),
        opCode: frame.readInt32LE(12),
        header: frame.subarray(0, HEADER_SIZE),
        body: frame.subarray(HEADER_SIZE),
      });
    }
    return frames;
  }

  private peek(n: number): Buffer {
    if (this.chunks[0].length < n) this.chunks = [Buffer.concat(this.chunks)];
    return this.chunks[0];
  }

  private take(n: number): Buffer {
    const all = this.chunks.length === 1 ? this.chunks[0] : Buffer.concat(this.chunks);
    const frame = all.subarray(0, n);
    const rest = all.subarray(n);
    this.chunks = rest.length > 0 ? [rest] : [];
    this.buffered = rest.length;
    return frame;
  }
}

/** Writes a header in front of `body`. */
export function frame(
  opCode: number,
  requestId: number,
  responseTo: number,
  body: Buffer[],
): Buffer {
  const length = HEADER_SIZE + body.reduce((n, b) => n + b.length, 0);
  const header = Buffer.allocUnsafe(HEADER_SIZE);
  header.writeInt32LE(length, 0);
  header.writeInt32LE(requestId, 4);
  header.writeInt32LE(responseTo, 8);
  header.writeInt32LE(opCode, 12);
  return Buffer.concat([header, ...body], length);
}
