import * as fs from 'node:fs';
import * as path from 'node:path';
import { LOG_OVERHEAD, readBaseOffset, readBatchInfo } from '../protocol/record-batch';
import { type StoredBatch } from '../log/partition-log';

/** Where a partition log keeps its segments; `null` (no store) means memory only. */
export interface PartitionStore {
  load(): { baseOffset: number; batches: StoredBatch[] }[];
  append(segmentBaseOffset: number, batchBytes: Buffer): void;
  deleteSegment(segmentBaseOffset: number): void;
  destroy(): void;
  close(): void;
}

const SEGMENT_SUFFIX = '.log';

function segmentFileName(baseOffset: number): string {
  return String(baseOffset).padStart(20, '0') + SEGMENT_SUFFIX;
}

/**
 * Append-only segment files, one directory per partition, in Kafka's own `.log` layout: the file
 * is the stored record batches back to back, named after the segment's base offset. There are no
 * index files; the in-memory index is rebuilt by scanning the segments on start. A torn trailing
 * batch (crash mid-write) is truncated away on load.
 */
export class FilePartitionStore implements PartitionStore {
  private activeBase = -1;
  private fd: number | null = null;

  constructor(
    private readonly dir: string,
    private readonly warn: (msg: string) => void,
  ) {
    fs.mkdirSync(dir, { recursive: true });
  }

  load(): { baseOffset: number; batches: StoredBatch[] }[] {
    const files = fs
      .readdirSync(this.dir)
      .filter((f) => f.endsWith(SEGMENT_SUFFIX))
      .sort();
    return files.map((file) => {
      const full = path.join(this.dir, file);
      const data = fs.readFileSync(full);
      const batches: StoredBatch[] = [];
      let pos = 0;
      while (pos + LOG_OVERHEAD <= data.length) {
        const size = LOG_OVERHEAD + data.readInt32BE(pos + 8);
        if (size <= LOG_OVERHEAD || pos + size > data.length) break;
        const bytes = Buffer.from(data.subarray(pos, pos + size));
        const info = readBatchInfo(bytes);
        const baseOffset = readBaseOffset(bytes);
        batches.push({
          baseOffset,
          lastOffset: baseOffset + info.lastOffsetDelta,
          maxTimestamp: info.maxTimestamp,
          bytes,
        });
        pos += size;
      }
      if (pos < data.length) {
        this.warn(`truncating ${data.length - pos} torn trailing bytes of ${full}`);
        fs.truncateSync(full, pos);
      }
      return { baseOffset: Number(file.slice(0, -SEGMENT_SUFFIX.length)), batches };
    });
  }

  append(segmentBaseOffset: number, batchBytes: Buffer): void {
    if (this.fd === null || this.activeBase !== segmentBaseOffset) {
      if (this.fd !== null) fs.closeSync(this.fd);
      this.fd = fs.openSync(path.join(this.dir, segmentFileName(segmentBaseOffset)), 'a');
      this.activeBase = segmentBaseOffset;
    }
    fs.writeSync(this.fd, batchBytes);
  }

  deleteSegment(segmentBaseOffset: number): void {
    if (segmentBaseOffset === this.activeBase) this.close();
    fs.rmSync(path.join(this.dir, segmentFileName(segmentBaseOffset)), { force: true });
  }

  destroy(): void {
    this.close();
    fs.rmSync(this.dir, { recursive: true, force: true });
  }

  close(): void {
    if (this.fd !== null) fs.closeSync(this.fd);
    this.fd = null;
    this.activeBase = -1;
  }
}
