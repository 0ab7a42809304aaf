/**
 * Legacy OP_QUERY (2004) and OP_REPLY (1). The driver's first message on every new connection is an
 * OP_QUERY `{ismaster: 1, helloOk: true, ...}` to `admin.$cmd` (mongodb `src/cmap/connect.ts`), and it
 * expects an OP_REPLY back. Nothing else uses these opcodes any more.
 *
 *   OP_QUERY: flags i32 | fullCollectionName cstring | numberToSkip i32 | numberToReturn i32 | query
 *   OP_REPLY: responseFlags i32 | cursorID i64 | startingFrom i32 | numberReturned i32 | documents
 */
import { BSON, type Document } from 'bson';
import { frame, ProtocolError } from './frame-reader';
import { DESERIALIZE_OPTIONS, serializeReply } from './op-msg';

export const OP_QUERY = 2004;
export const OP_REPLY = 1;

export interface OpQueryRequest {
  /** e.g. "admin.$cmd" */
  collection: string;
  /** The query with any `$query` wrapper removed. */
  command: Document;
}

export function parseOpQuery(body: Buffer): OpQueryRequest {
  const nul = body.indexOf(0, 4);
  if (body.length < 4 || nul < 0)
    throw new ProtocolError('OP_QUERY collection name not terminated');
  const collection = body.toString('utf8', 4, nul);
  const docStart = nul + 1 + 8;
  if (docStart + 5 > body.length) throw new ProtocolError('OP_QUERY truncated');
  const size = body.readInt32LE(docStart);
  if (size < 5 || docStart + size > body.length)
    throw new ProtocolError('OP_QUERY query size invalid');
  let query: Document;
  try {
    query = BSON.deserialize(body.subarray(docStart, docStart + size), DESERIALIZE_OPTIONS);
  } catch (err) {
    throw new ProtocolError(`OP_QUERY invalid BSON: ${(err as Error).message}`);
  }
  const inner: unknown = query.$query;
  const command =
    inner !== null && typeof inner === 'object' && !Array.isArray(inner)
      ? (inner as Document)
      : query;
  return { collection, command };
}

export function encodeOpReply(requestId: number, responseTo: number, reply: Document): Buffer {
  const head = Buffer.alloc(20);
  head.writeInt32LE(0, 0); // responseFlags
  head.writeBigInt64LE(0n, 4); // cursorID
  head.writeInt32LE(0, 12); // startingFrom
  head.writeInt32LE(1, 16); // numberReturned
  return frame(OP_REPLY, requestId, responseTo, [head, serializeReply(reply)]);
}
