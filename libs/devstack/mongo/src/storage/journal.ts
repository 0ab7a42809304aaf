/**
 * Append-only journal of committed changes, for `dataDir`.
 *
 * File `journal.bin` is a sequence of records: u32 length | u32 CRC-32C | BSON document. A record is
 * a catalog change (`cc` create collection, `dc` drop collection, `dd` drop database, `ci`/`di`
 * create/drop index, `i64`/`dbl` fields written as Int64/Double) or `w`: every document written by one commit. A commit too large for one BSON
 * document is split into records flagged `more: true`; replay applies a commit only when its last
 * record is present, so a torn tail never leaves half a transaction.
 *
 * Every record is written with a synchronous write(2) before the client gets its reply, so an
 * acknowledged write survives the server process dying (SIGKILL). fsync policy: see README.md.
 * On start the journal is replayed, a torn or corrupt tail is dropped, and the file is rewritten
 * compactly (current state only) before the server accepts connections.
 */
import {
  closeSync,
  existsSync,
  fdatasync,
  fdatasyncSync,
  fsyncSync,
  mkdirSync,
  openSync,
  readFileSync,
  renameSync,
  writeSync,
} from 'node:fs';
import { join } from 'node:path';
import { BSON, type Document } from 'bson';
import type { Logger } from 'pino';
import { crc32c } from '../wire/crc32c';
import type { Engine } from './engine';

export type JournalRecord = Document & {
  t: 'cc' | 'dc' | 'dd' | 'ci' | 'di' | 'i64' | 'dbl' | 'w';
};

/**
 * `always`: fdatasync before every reply. `interval`: write(2) before every reply, fdatasync within
 * 100 ms of the first unsynced write (a timer armed by that write, so an idle journal never wakes).
 */
export type FsyncPolicy = 'always' | 'interval';

const FILE = 'journal.bin';
const MAX_RECORD_OPS_BYTES = 8 * 1024 * 1024;
const SYNC_INTERVAL_MS = 100;

export class Journal {
  /** Armed while writes wait for their fdatasync (`interval` policy). */
  private timer: NodeJS.Timeout | null = null;

  private constructor(
    private readonly fd: number,
    private readonly policy: FsyncPolicy,
  ) {}

  /** Loads `dir`'s journal into `engine`, compacts it, and attaches a journal to the engine. */
  static open(dir: string, engine: Engine, policy: FsyncPolicy, logger: Logger): Journal {
    mkdirSync(dir, { recursive: true });
    const path = join(dir, FILE);
    if (existsSync(path)) {
      const { records, goodBytes, totalBytes } = readRecords(readFileSync(path));
      if (goodBytes < totalBytes) {
        logger.warn({ path, goodBytes, totalBytes }, 'journal: dropping torn or corrupt tail');
      }
      for (const record of records) engine.replay(record);
      logger.info({ path, records: records.length }, 'journal: replayed');
    }
    const tmp = join(dir, `${FILE}.tmp`);
    const tmpFd = openSync(tmp, 'w');
    for (const record of snapshotRecords(engine)) writeSync(tmpFd, encode(record));
    fsyncSync(tmpFd);
    closeSync(tmpFd);
    renameSync(tmp, path);
    const dirFd = openSync(dir, 'r');
    fsyncSync(dirFd);
    closeSync(dirFd);
    const journal = new Journal(openSync(path, 'a'), policy);
    engine.journal = journal;
    return journal;
  }

  append(record: JournalRecord): void {
    const parts = record.t === 'w' ? splitWrite(record) : [record];
    for (const part of parts) writeSync(this.fd, encode(part));
    if (this.policy === 'always') fdatasyncSync(this.fd);
    else this.timer ??= setTimeout(() => this.syncSoon(), SYNC_INTERVAL_MS).unref();
  }

  private syncSoon(): void {
    this.timer = null;
    fdatasync(this.fd, () => undefined);
  }

  close(): void {
    if (this.timer) clearTimeout(this.timer);
    fdatasyncSync(this.fd);
    closeSync(this.fd);
  }
}

function encode(record: Document): Buffer {
  const body = BSON.serialize(record);
  const head = Buffer.allocUnsafe(8);
  head.writeUInt32LE(body.length, 0);
  head.writeUInt32LE(crc32c(body), 4);
  return Buffer.concat([head, body]);
}

function readRecords(buf: Buffer): {
  records: JournalRecord[];
  goodBytes: number;
  totalBytes: number;
} {
  const records: JournalRecord[] = [];
  let pending: Document[] = [];
  let offset = 0;
  let goodBytes = 0;
  while (offset + 8 <= buf.length) {
    const length = buf.readUInt32LE(offset);
    const crc = buf.readUInt32LE(offset + 4);
    const end = offset + 8 + length;
    if (end > buf.length) break;
    const body = buf.subarray(offset + 8, end);
    if (crc32c(body) !== crc) break;
    let record: Document;
    try {
      record = BSON.deserialize(body);
    } catch {
      break;
    }
    offset = end;
    if (record.t === 'w' && record.more === true) {
      pending.push(...(record.ops as Document[]));
      continue;
    }
    if (record.t === 'w' && pending.length > 0) {
      record.ops = [...pending, ...(record.ops as Document[])];
      pending = [];
    }
    records.push(record as JournalRecord);
    goodBytes = offset;
  }
  return { records, goodBytes, totalBytes: buf.length };
}

function splitWrite(record: Document): Document[] {
  const ops = record.ops as Document[];
  const parts: Document[] = [];
  let batch: Document[] = [];
  let bytes = 0;
  for (const op of ops) {
    const size = BSON.calculateObjectSize(op);
    if (batch.length > 0 && bytes + size > MAX_RECORD_OPS_BYTES) {
      parts.push({ t: 'w', ts: record.ts, ops: batch, more: true });
      batch = [];
      bytes = 0;
    }
    batch.push(op);
    bytes += size;
  }
  parts.push({ t: 'w', ts: record.ts, ops: batch });
  return parts;
}

/** The current state as journal records: catalog first, then documents. */
function* snapshotRecords(engine: Engine): Generator<Document> {
  for (const colls of engine.databases.values()) {
    for (const coll of colls.values()) {
      yield { t: 'cc', ns: coll.ns, options: coll.options };
      for (const index of coll.indexes.values()) {
        if (index.name !== '_id_') yield { t: 'ci', ns: coll.ns, spec: index.spec };
      }
      const numbers = engine.numberPaths.get(coll.ns);
      if (numbers && numbers.long.size > 0)
        yield { t: 'i64', ns: coll.ns, paths: [...numbers.long] };
      if (numbers && numbers.double.size > 0)
        yield { t: 'dbl', ns: coll.ns, paths: [...numbers.double] };
      let ops: Document[] = [];
      for (const [, chain] of coll.docs) {
        const doc = chain[chain.length - 1].doc;
        if (!doc) continue;
        ops.push({ ns: coll.ns, doc });
        if (ops.length >= 1000) {
          yield* splitWrite({ ts: engine.clock, ops });
          ops = [];
        }
      }
      if (ops.length > 0) yield* splitWrite({ ts: engine.clock, ops });
    }
  }
}
