/**
 * Open cursors. A query's results are computed when it runs (a consistent snapshot), and the cursor
 * hands them out in batches: the first batch with the command, the rest through getMore.
 * Batches respect batchSize and stay under 16 MiB so the reply fits maxBsonObjectSize.
 */
import { BSON, Long, type Document } from 'bson';
import { CommandError } from './errors';

const DEFAULT_FIRST_BATCH = 101;
const MAX_BATCH_BYTES = 16 * 1024 * 1024 - 64 * 1024;
const IDLE_TIMEOUT_MS = 10 * 60_000;

interface OpenCursor {
  id: number;
  ns: string;
  docs: Document[];
  position: number;
  lastUsed: number;
}

export class CursorRegistry {
  private readonly cursors = new Map<number, OpenCursor>();

  /** Builds the `{cursor: {id, ns, firstBatch}}` reply, registering a cursor if results remain. */
  open(ns: string, docs: Document[], batchSize: number | undefined, singleBatch = false): Document {
    const firstBatch = takeBatch(
      docs,
      0,
      singleBatch ? Infinity : (batchSize ?? DEFAULT_FIRST_BATCH),
    );
    let id = 0;
    if (!singleBatch && firstBatch.length < docs.length) {
      id = this.newId();
      this.cursors.set(id, { id, ns, docs, position: firstBatch.length, lastUsed: Date.now() });
    }
    return { cursor: { firstBatch, id: Long.fromNumber(id), ns } };
  }

  getMore(id: number, ns: string, batchSize: number | undefined): Document {
    const cursor = this.cursors.get(id);
    if (!cursor) throw CommandError.of('CursorNotFound', `cursor id ${id} not found`);
    if (cursor.ns !== ns) {
      throw CommandError.of(
        'Unauthorized',
        `Requested getMore on namespace '${ns}', but cursor belongs to a different namespace ${cursor.ns}`,
      );
    }
    const nextBatch = takeBatch(cursor.docs, cursor.position, batchSize ?? Infinity);
    cursor.position += nextBatch.length;
    cursor.lastUsed = Date.now();
    let replyId = id;
    if (cursor.position >= cursor.docs.length) {
      this.cursors.delete(id);
      replyId = 0;
    }
    return { cursor: { nextBatch, id: Long.fromNumber(replyId), ns } };
  }

  kill(ids: number[]): Document {
    const killed: Long[] = [];
    const notFound: Long[] = [];
    for (const id of ids) (this.cursors.delete(id) ? killed : notFound).push(Long.fromNumber(id));
    return {
      cursorsKilled: killed,
      cursorsNotFound: notFound,
      cursorsAlive: [],
      cursorsUnknown: [],
    };
  }

  expireIdle(now = Date.now()): void {
    for (const [id, cursor] of this.cursors)
      if (now - cursor.lastUsed > IDLE_TIMEOUT_MS) this.cursors.delete(id);
  }

  get size(): number {
    return this.cursors.size;
  }

  private newId(): number {
    let id: number;
    do id = Math.floor(Math.random() * 2 ** 52) + 1;
    while (this.cursors.has(id));
    return id;
  }
}

function takeBatch(docs: Document[], from: number, limit: number): Document[] {
  const batch: Document[] = [];
  let bytes = 0;
  for (let i = from; i < docs.length && batch.length < limit; i++) {
    const size = BSON.calculateObjectSize(docs[i]);
    if (batch.length > 0 && bytes + size > MAX_BATCH_BYTES) break;
    batch.push(docs[i]);
    bytes += size;
  }
  return batch;
}
