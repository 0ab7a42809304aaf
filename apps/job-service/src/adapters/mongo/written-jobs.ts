import type { JobDocument } from './job.repository';

/** How long an entry may sit unused before a full cache drops it for a newer one. */
const STALE_AFTER_MS = 60_000;

export interface WrittenJobsLimits {
  /** Documents kept at most. */
  maxJobs: number;
  /** Payload and result JSON kept at most, in UTF-16 code units (close to bytes). */
  maxJsonChars: number;
}

interface Entry {
  doc: JobDocument;
  chars: number;
  at: number;
}

/**
 * The jobs this process wrote last, as it wrote them, while they are PENDING (created or requeued
 * here) or RUNNING (claimed here): the documents a claim or a completion would otherwise read
 * back first. A change transaction takes its base document from here and guards the write on the
 * revision (`rev`) it holds, so a write made anywhere else since (another replica, a schedule,
 * CancelJob) makes the guard miss, and that job is read after all. Bounded in count and JSON
 * size: when full, entries unused for a minute make room, else a new document is not kept.
 */
export class WrittenJobs {
  private readonly entries = new Map<string, Entry>();
  private chars = 0;

  constructor(private readonly limits: WrittenJobsLimits) {}

  get(id: string): JobDocument | undefined {
    return this.entries.get(id)?.doc;
  }

  /** `doc` is what this process just committed for its job (kept only while PENDING or RUNNING). */
  remember(doc: JobDocument, nowMs: number): void {
    this.forget(doc._id);
    if (doc.state !== 'PENDING' && doc.state !== 'RUNNING') return;
    const chars = doc.payload_json.length + (doc.result_json?.length ?? 0);
    if (!this.makeRoom(chars, nowMs)) return;
    this.entries.set(doc._id, { doc, chars, at: nowMs });
    this.chars += chars;
  }

  forget(id: string): void {
    const entry = this.entries.get(id);
    if (!entry) return;
    this.entries.delete(id);
    this.chars -= entry.chars;
  }

  get size(): number {
    return this.entries.size;
  }

  /** Drops the oldest entries unused for a minute until `chars` more fit; false if they do not. */
  private makeRoom(chars: number, nowMs: number): boolean {
    const { maxJobs, maxJsonChars } = this.limits;
    const fits = () => this.entries.size < maxJobs && this.chars + chars <= maxJsonChars;
    // Map order is insertion order: the first entries are the oldest.
    for (const [id, entry] of this.entries) {
      if (fits() || nowMs - entry.at < STALE_AFTER_MS) break;
      this.forget(id);
    }
    return fits();
  }
}
