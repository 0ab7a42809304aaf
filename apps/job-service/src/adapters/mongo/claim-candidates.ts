import { typeSetKey } from '../../domain/claim-policy';

/** A due PENDING job as the claim order sees it. */
export interface Candidate {
  id: string;
  priority: number;
  runAt: number;
  createdAt: number;
}

/** Claim order: priority (high first), then run_at, then creation, then id. */
export function claimOrder(a: Candidate, b: Candidate): number {
  return (
    b.priority - a.priority ||
    a.runAt - b.runAt ||
    a.createdAt - b.createdAt ||
    (a.id < b.id ? -1 : a.id > b.id ? 1 : 0)
  );
}

interface CandidateList {
  types: Set<string>;
  /** In claim order; claims take from the front. */
  entries: Candidate[];
  /** The scan that filled it stopped at its limit: more due jobs sort after the last entry. */
  more: boolean;
  expiresAt: number;
}

/**
 * Short-lived, sorted lists of due job candidates per set of types, so that one ordered scan
 * serves many claims. A job this process makes PENDING and due joins every list of its type at
 * its place in claim order, which keeps local priority order exact without scanning again; jobs
 * made due by other replicas, or by time passing, show up when a list expires (after `ttlMs`).
 */
export class ClaimCandidates {
  private readonly lists = new Map<string, CandidateList>();

  constructor(private readonly ttlMs: number) {}

  /** The list of a set of types: the key the claim policy groups claims by. */
  static key(types: string[]): string {
    return typeSetKey(types);
  }

  /** The live list of `key` (claims consume it), or undefined when it must be scanned again. */
  get(key: string, nowMs: number): Candidate[] | undefined {
    const list = this.lists.get(key);
    if (!list || list.expiresAt <= nowMs || (list.entries.length === 0 && list.more))
      return undefined;
    return list.entries;
  }

  /** Stores a fresh scan (`more`: it was cut at its limit). Returns the live list. */
  set(key: string, types: string[], entries: Candidate[], more: boolean, nowMs: number) {
    const list = { types: new Set(types), entries, more, expiresAt: nowMs + this.ttlMs };
    this.lists.set(key, list);
    return list.entries;
  }

  /** Forgets every list: claims consumed entries that were not taken after all. */
  clear(): void {
    this.lists.clear();
  }

  /** `job` became PENDING in this process. */
  add(type: string, job: Candidate, nowMs: number): void {
    if (job.runAt > nowMs) return;
    for (const list of this.lists.values()) {
      if (!list.types.has(type)) continue;
      const { entries } = list;
      let low = 0;
      let high = entries.length;
      while (low < high) {
        const mid = (low + high) >>> 1;
        if (claimOrder(entries[mid], job) < 0) low = mid + 1;
        else high = mid;
      }
      // Past the end of a list that was cut short, the next scan finds it in its place.
      if (low === entries.length && list.more) continue;
      if (entries[low]?.id === job.id) continue;
      entries.splice(low, 0, job);
    }
  }
}
