/**
 * OP_MSG (opCode 2013), the message every command after the handshake uses
 * (specifications `source/message/OP_MSG.md`).
 *
 *   flagBits u32 | sections... | optional CRC-32C u32
 *   section kind 0: one BSON document (the command body)
 *   section kind 1: int32 size, cstring identifier, BSON documents (a "document sequence")
 *
 * Kind-1 sequences are merged into the body as an array field named by the identifier, so command
 * handlers never see the difference. Replies are always a single kind-0 section.
 */
import { BSON, type Document } from 'bson';
import { crc32c } from './crc32c';
import { frame, ProtocolError } from './frame-reader';

export const OP_MSG = 2013;

export const MsgFlags = {
  checksumPresent: 1 << 0,
  moreToCome: 1 << 1,
  exhaustAllowed: 1 << 16,
} as const;

/** Bits 0-15 are "required": a receiver must reject a message with a required bit it does not know. */
const KNOWN_REQUIRED_BITS = MsgFlags.checksumPresent | MsgFlags.moreToCome;

export interface OpMsgRequest {
  flags: number;
  /** Body with every document sequence merged in. */
  command: Document;
  /** True when the client expects no reply (moreToCome, used for w:0 writes). */
  moreToCome: boolean;
}

/** Numbers arrive as Int32 / Double / Long so query/int64.ts can tell their BSON types apart. */
export const DESERIALIZE_OPTIONS = { validation: { utf8: false }, promoteValues: false } as const;

export function parseOpMsg(body: Buffer, header: Buffer | null = null): OpMsgRequest {
  if (body.length < 5) throw new ProtocolError('OP_MSG shorter than flagBits plus one section');
  const flags = body.readUInt32LE(0);
  const unknownRequired = flags & 0xffff & ~KNOWN_REQUIRED_BITS;
  if (unknownRequired !== 0) {
    throw new ProtocolError(
      `OP_MSG has unknown required flag bits 0x${unknownRequired.toString(16)}`,
    );
  }
  let end = body.length;
  if (flags & MsgFlags.checksumPresent) {
    if (body.length < 9) throw new ProtocolError('OP_MSG checksum flag set but message too short');
    end -= 4;
    if (header) {
      const expected = body.readUInt32LE(end);
      const actual = crc32c(Buffer.concat([header, body.subarray(0, end)]));
      if (expected !== actual) throw new ProtocolError('OP_MSG checksum mismatch');
    }
  }
  let offset = 4;
  let command: Document | undefined;
  const sequences: Array<[string, Document[]]> = [];
  while (offset < end) {
    const kind = body[offset++];
    if (kind === 0) {
      if (command) throw new ProtocolError('OP_MSG has more than one kind-0 section');
      const size = readSize(body, offset, end);
      command = deserialize(body, offset, size);
      offset += size;
    } else if (kind === 1) {
      const size = readSize(body, offset, end);
      const sectionEnd = offset + size;
      let p = offset + 4;
      const nul = body.indexOf(0, p);
      if (nul < 0 || nul >= sectionEnd)
        throw new ProtocolError('OP_MSG kind-1 identifier not terminated');
      const identifier = body.toString('utf8', p, nul);
      p = nul + 1;
      const docs: Document[] = [];
      while (p < sectionEnd) {
        const docSize = readSize(body, p, sectionEnd);
        docs.push(deserialize(body, p, docSize));
        p += docSize;
      }
      sequences.push([identifier, docs]);
      offset = sectionEnd;
    } else {
      throw new ProtocolError(`OP_MSG has unknown section kind ${kind}`);
    }
  }
  if (!command) throw new ProtocolError('OP_MSG has no kind-0 section');
  for (const [identifier, docs] of sequences) {
    if (identifier in command) {
      throw new ProtocolError(`OP_MSG document sequence '${identifier}' duplicates a body field`);
    }
    command[identifier] = docs;
  }
  return { flags, command, moreToCome: (flags & MsgFlags.moreToCome) !== 0 };
}

export function encodeOpMsg(requestId: number, responseTo: number, reply: Document): Buffer {
  const flags = Buffer.alloc(5); // flagBits 0, then section kind 0
  return frame(OP_MSG, requestId, responseTo, [flags, serializeReply(reply)]);
}

export function serializeReply(doc: Document): Buffer {
  const bytes = BSON.serialize(doc, { ignoreUndefined: true });
  // A view, not a copy: the bytes are this reply's own (frame() copies them once more).
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

function readSize(buf: Buffer, offset: number, end: number): number {
  if (offset + 4 > end) throw new ProtocolError('truncated size field');
  const size = buf.readInt32LE(offset);
  if (size < 5 || offset + size > end) throw new ProtocolError(`invalid BSON/section size ${size}`);
  return size;
}

function deserialize(buf: Buffer, offset: number, size: number): Document {
  try {
    return BSON.deserialize(buf.subarray(offset, offset + size), DESERIALIZE_OPTIONS);
  } catch (err) {
    throw new ProtocolError(`invalid BSON document: ${(err as Error).message}`);
  }
}
