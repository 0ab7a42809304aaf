import { type LogConfig } from './log-config';
import {
  type BatchInfo,
  ControlType,
  controlBatch,
  controlType,
  firstOffsetAtOrAfter,
  isControl,
  isTransactional,
  readBatchInfo,
  withBaseOffset,
} from '../protocol/record-batch';
import { type PartitionStore } from '../persistence/partition-store';

/** One stored batch: the verbatim bytes with the broker-assigned base offset stamped in. */
export interface StoredBatch {
  readonly baseOffset: number;
  readonly lastOffset: number;
  readonly maxTimestamp: number;
  readonly bytes: Buffer;
}

/** A run of consecutive batches; retention deletes whole closed segments, like Kafka. */
interface Segment {
  readonly baseOffset: number;
  readonly batches: StoredBatch[];
  size: number;
  maxTimestamp: number;
}

/**
 * Per idempotent producer, the epoch and its last batches, for duplicate detection (Kafka keeps
 * 5, the most a producer may have in flight). Rebuilt from the stored batches on start, so dedup
 * survives a restart as Kafka's producer-state snapshots + log replay make it.
 */
interface ProducerState {
  epoch: number;
  recent: { firstSeq: number; lastSeq: number; baseOffset: number }[];
}

const MAX_RECENT_BATCHES = 5;
const INT32_MAX = 2147483647;

/** A transaction aborted in this partition: readers in read_committed skip its batches. */
export interface AbortedTransaction {
  readonly producerId: number;
  readonly firstOffset: number;
  /** Offset of the abort marker. */
  readonly lastOffset: number;
}

export type AppendResult =
  | { readonly ok: true; readonly baseOffset: number }
  | { readonly ok: false; readonly error: 'OUT_OF_ORDER_SEQUENCE' | 'INVALID_PRODUCER_EPOCH' };

export class PartitionLog {
  private readonly segments: Segment[] = [];
  private leo = 0;
  private startOffset = 0;
  private readonly producers = new Map<number, ProducerState>();
  /** Open transactions: producer id → first offset and epoch. */
  private readonly ongoing = new Map<number, { firstOffset: number; epoch: number }>();
  private readonly aborted: AbortedTransaction[] = [];

  constructor(
    readonly topic: string,
    readonly partition: number,
    private config: LogConfig,
    private readonly store: PartitionStore | null,
    private readonly onAppend: () => void,
  ) {
    if (store) {
      for (const seg of store.load()) {
        const segment: Segment = {
          baseOffset: seg.baseOffset,
          batches: [],
          size: 0,
          maxTimestamp: -1,
        };
        for (const b of seg.batches) {
          this.addToSegment(segment, b);
          this.track(readBatchInfo(b.bytes), b);
        }
        this.segments.push(segment);
      }
      const first = this.segments[0];
      const last = this.segments.at(-1);
      this.startOffset = first ? first.baseOffset : 0;
      this.leo = last ? (last.batches.at(-1)?.lastOffset ?? last.baseOffset - 1) + 1 : 0;
      // Transaction state is not persisted: a transaction left open by the previous run is
      // aborted, as Kafka's coordinator aborts it once transaction.timeout.ms passes.
      for (const [producerId, { epoch }] of [...this.ongoing]) {
        this.writeMarker(producerId, epoch, false);
      }
    }
  }

  /** First offset of the oldest open transaction, else the log end (read_committed bound). */
  get lastStableOffset(): number {
    let lso = this.leo;
    for (const t of this.ongoing.values()) lso = Math.min(lso, t.firstOffset);
    return lso;
  }

  /** Aborted transactions with data in [from, to] (Fetch's aborted_transactions). */
  abortedBetween(from: number, to: number): AbortedTransaction[] {
    return this.aborted.filter((t) => t.lastOffset >= from && t.firstOffset <= to);
  }

  /** EndTxn: write a COMMIT or ABORT marker for the producer's transaction in this partition. */
  writeMarker(producerId: number, epoch: number, commit: boolean): void {
    const type = commit ? ControlType.COMMIT : ControlType.ABORT;
    const bytes = controlBatch(producerId, epoch, type, Date.now());
    this.appendBatch(readBatchInfo(bytes));
    this.onAppend();
  }

  get logStartOffset(): number {
    return this.startOffset;
  }

  /** Log end offset = high watermark (single replica) = last stable offset (no transactions). */
  get logEndOffset(): number {
    return this.leo;
  }

  get sizeInBytes(): number {
    return this.segments.reduce((n, s) => n + s.size, 0);
  }

  setConfig(config: LogConfig): void {
    this.config = config;
  }

  /** Append validated batches; all-or-nothing per partition. Returns the first base offset. */
  append(batches: readonly BatchInfo[]): AppendResult {
    // Idempotence checks first, so a rejected request appends nothing. A request carries one
    // batch per partition from kafkajs and librdkafka; a duplicate is answered with the
    // original batch's offset and appends nothing, as Kafka does.
    const first = batches[0];
    if (first && first.producerId >= 0) {
      const check = this.checkSequence(first);
      if (check !== null) return check;
    }
    const baseOffset = this.leo;
    for (const b of batches) this.appendBatch(b);
    this.onAppend();
    return { ok: true, baseOffset };
  }

  private appendBatch(b: BatchInfo): void {
    const stored: StoredBatch = {
      baseOffset: this.leo,
      lastOffset: this.leo + b.lastOffsetDelta,
      maxTimestamp: b.maxTimestamp,
      bytes: withBaseOffset(b.bytes, this.leo),
    };
    let active = this.segments.at(-1);
    if (!active || active.size >= this.config.segmentBytes) {
      active = { baseOffset: this.leo, batches: [], size: 0, maxTimestamp: -1 };
      this.segments.push(active);
    }
    this.addToSegment(active, stored);
    this.store?.append(active.baseOffset, stored.bytes);
    this.leo = stored.lastOffset + 1;
    this.track(b, stored);
  }

  /** Producer sequences and transaction state for one stored batch. */
  private track(b: BatchInfo, stored: StoredBatch): void {
    if (b.producerId < 0) return;
    if (isControl(b.attributes)) {
      const open = this.ongoing.get(b.producerId);
      this.ongoing.delete(b.producerId);
      if (open && controlType(stored.bytes) === ControlType.ABORT) {
        this.aborted.push({
          producerId: b.producerId,
          firstOffset: open.firstOffset,
          lastOffset: stored.baseOffset,
        });
      }
      return;
    }
    this.rememberProducer(b, stored.baseOffset);
    if (isTransactional(b.attributes) && !this.ongoing.has(b.producerId)) {
      this.ongoing.set(b.producerId, { firstOffset: stored.baseOffset, epoch: b.producerEpoch });
    }
  }

  private addToSegment(segment: Segment, b: StoredBatch): void {
    segment.batches.push(b);
    segment.size += b.bytes.length;
    segment.maxTimestamp = Math.max(segment.maxTimestamp, b.maxTimestamp);
  }

  /**
   * Kafka's ProducerStateManager rules: an older epoch is fenced (47); a new epoch must start at
   * sequence 0; within an epoch a batch already among the last five is a duplicate, and any
   * other batch must continue the last sequence (wrapping after Int32 max), else 45. A producer
   * with no state at all (new, or whose batches retention removed) may start at any sequence,
   * as since KIP-360 Kafka no longer answers UNKNOWN_PRODUCER_ID there.
   */
  private checkSequence(b: BatchInfo): AppendResult | null {
    const state = this.producers.get(b.producerId);
    if (!state) return null;
    if (b.producerEpoch < state.epoch) return { ok: false, error: 'INVALID_PRODUCER_EPOCH' };
    if (b.producerEpoch > state.epoch) {
      return b.baseSequence === 0 ? null : { ok: false, error: 'OUT_OF_ORDER_SEQUENCE' };
    }
    const lastSeq = lastSequence(b);
    const dup = state.recent.find((r) => r.firstSeq === b.baseSequence && r.lastSeq === lastSeq);
    if (dup) return { ok: true, baseOffset: dup.baseOffset };
    const last = state.recent.at(-1);
    if (!last) return null;
    const expected = last.lastSeq === INT32_MAX ? 0 : last.lastSeq + 1;
    return b.baseSequence === expected ? null : { ok: false, error: 'OUT_OF_ORDER_SEQUENCE' };
  }

  /** Highest producer id in this log (-1 when none), so new ids never collide after a restart. */
  get maxProducerId(): number {
    let max = -1;
    for (const id of this.producers.keys()) max = Math.max(max, id);
    return max;
  }

  private rememberProducer(b: BatchInfo, baseOffset: number): void {
    let state = this.producers.get(b.producerId);
    if (!state || state.epoch !== b.producerEpoch) {
      state = { epoch: b.producerEpoch, recent: [] };
      this.producers.set(b.producerId, state);
    }
    state.recent.push({
      firstSeq: b.baseSequence,
      lastSeq: lastSequence(b),
      baseOffset,
    });
    if (state.recent.length > MAX_RECENT_BATCHES) state.recent.shift();
  }

  /**
   * Whole batches starting with the first whose last offset >= fetchOffset (kafkajs drops the
   * records below fetchOffset itself). Stops before exceeding maxBytes, except that the first
   * batch is always returned when `atLeastOne` (KIP-74), so a big batch can never stall a consumer.
   */
  read(
    fetchOffset: number,
    maxBytes: number,
    atLeastOne: boolean,
    upTo = Number.MAX_SAFE_INTEGER,
  ): StoredBatch[] {
    const out: StoredBatch[] = [];
    let size = 0;
    for (const seg of this.segments) {
      const lastInSeg = seg.batches.at(-1);
      if (!lastInSeg || lastInSeg.lastOffset < fetchOffset) continue;
      let i = firstIndexWithLastOffsetAtLeast(seg.batches, fetchOffset);
      for (; i < seg.batches.length; i++) {
        const b = seg.batches[i] as StoredBatch;
        if (b.baseOffset >= upTo) return out;
        if (size + b.bytes.length > maxBytes && !(atLeastOne && out.length === 0)) return out;
        out.push(b);
        size += b.bytes.length;
      }
    }
    return out;
  }

  /** ListOffsets by timestamp: first offset whose record timestamp >= ts, or -1 if none. */
  offsetForTimestamp(ts: number): number {
    for (const seg of this.segments) {
      if (seg.maxTimestamp < ts) continue;
      for (const b of seg.batches) {
        if (b.maxTimestamp >= ts) {
          return Math.max(firstOffsetAtOrAfter(b.bytes, ts), this.startOffset);
        }
      }
    }
    return -1;
  }

  /**
   * Delete closed segments (never the active one) that are past retention.ms or that put the
   * log over retention.bytes, advancing the log start offset to the next segment's base.
   */
  enforceRetention(now: number): number {
    const { retentionMs, retentionBytes } = this.config;
    let deleted = 0;
    let total = this.sizeInBytes;
    while (this.segments.length > 1) {
      const oldest = this.segments[0] as Segment;
      const expired = retentionMs >= 0 && oldest.maxTimestamp < now - retentionMs;
      const oversize = retentionBytes >= 0 && total - oldest.size >= retentionBytes;
      if (!expired && !oversize) break;
      this.segments.shift();
      total -= oldest.size;
      this.store?.deleteSegment(oldest.baseOffset);
      this.startOffset = (this.segments[0] as Segment).baseOffset;
      deleted++;
    }
    return deleted;
  }

  /**
   * DeleteRecords: make `offset` the log start offset, dropping the segments wholly below it.
   * The start offset is not checkpointed: after a restart it falls back to the first kept
   * segment's base offset.
   */
  deleteRecordsBefore(offset: number): void {
    if (offset <= this.startOffset) return;
    while (this.segments.length > 1) {
      const next = this.segments[1] as Segment;
      if (next.baseOffset > offset) break;
      const oldest = this.segments.shift() as Segment;
      this.store?.deleteSegment(oldest.baseOffset);
    }
    this.startOffset = offset;
  }

  /** Release the open segment file, if any. */
  close(): void {
    this.store?.close();
  }

  /** Drop everything (topic deletion). */
  destroy(): void {
    this.segments.length = 0;
    this.store?.destroy();
  }
}

/** Sequence numbers wrap to 0 after Int32 max, as in Kafka's DefaultRecordBatch. */
function lastSequence(b: BatchInfo): number {
  return (b.baseSequence + b.lastOffsetDelta) % (INT32_MAX + 1);
}

function firstIndexWithLastOffsetAtLeast(batches: readonly StoredBatch[], offset: number): number {
  let lo = 0;
  let hi = batches.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if ((batches[mid] as StoredBatch).lastOffset < offset) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}
