/**
 * Entry changes of an index structure (query postings, ordered entries) recorded per document and
 * applied in one go when the structure is next read. Only the last change of each entry is kept, so
 * an entry added and removed in between (a job's RUNNING state and lease, gone once it completes)
 * never touches the structure. Each change says where the entry must end up (in or out), so
 * applying them in any order gives what applying every write at once would have.
 *
 * Bounded: a document with more than PER_DOCUMENT pending changes has them applied at once (a hot
 * document's churn), and all of them once there are more than `limit()`.
 */
const PER_DOCUMENT = 32;

interface Change<K> {
  key: K;
  present: boolean;
}

export class PendingChanges<K> {
  private readonly byDocument = new Map<string, Array<Change<K>>>();
  private count = 0;

  constructor(
    /** Whether two keys name the same entry. */
    private readonly same: (a: K, b: K) => boolean,
    /** Puts entry `key` of document `idKey` in (`present`) or out of the structure. */
    private readonly apply: (idKey: string, key: K, present: boolean) => void,
    private readonly limit: () => number,
  ) {}

  /** Whether changes wait to be applied (then call `flush` before reading the structure). */
  get waiting(): boolean {
    return this.count > 0;
  }

  /** How many changes wait. */
  get size(): number {
    return this.count;
  }

  /** Records that entry `key` of document `idKey` is now in (`present`) or out. */
  record(idKey: string, key: K, present: boolean): void {
    let changes = this.byDocument.get(idKey);
    if (!changes) this.byDocument.set(idKey, (changes = []));
    for (const c of changes) {
      if (this.same(c.key, key)) {
        c.present = present;
        return;
      }
    }
    changes.push({ key, present });
    this.count++;
    if (changes.length > PER_DOCUMENT) {
      for (const c of changes) this.apply(idKey, c.key, c.present);
      this.byDocument.delete(idKey);
      this.count -= changes.length;
    } else if (this.count > this.limit()) this.flush();
  }

  flush(): void {
    for (const [idKey, changes] of this.byDocument)
      for (const c of changes) this.apply(idKey, c.key, c.present);
    this.byDocument.clear();
    this.count = 0;
  }
}
