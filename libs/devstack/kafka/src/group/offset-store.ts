import { type DataDir } from '../persistence/data-dir';

export interface CommittedOffset {
  readonly offset: number;
  readonly metadata: string | null;
}

/**
 * Committed offsets per group, topic and partition. Negative offsets are stored verbatim: kafkajs
 * commits -1/-2 as its "default offset" and treats them as unset when fetching them back.
 */
export class OffsetStore {
  private readonly byGroup = new Map<string, Map<string, CommittedOffset>>();

  constructor(private readonly dataDir: DataDir | null) {
    if (dataDir) {
      for (const r of dataDir.loadOffsets()) {
        this.set(r.group, r.topic, r.partition, { offset: r.offset, metadata: r.metadata }, false);
      }
    }
  }

  get(group: string, topic: string, partition: number): CommittedOffset | undefined {
    return this.byGroup.get(group)?.get(key(topic, partition));
  }

  commit(group: string, topic: string, partition: number, value: CommittedOffset): void {
    this.set(group, topic, partition, value, true);
  }

  hasGroup(group: string): boolean {
    return (this.byGroup.get(group)?.size ?? 0) > 0;
  }

  groups(): string[] {
    return [...this.byGroup.keys()].filter((g) => this.hasGroup(g));
  }

  /** Every committed (topic, partition) of a group, sorted by topic then partition. */
  committed(group: string): { topic: string; partition: number; value: CommittedOffset }[] {
    const out = [...(this.byGroup.get(group) ?? new Map<string, CommittedOffset>())].map(
      ([k, value]) => {
        const [topic, p] = k.split('\u0000') as [string, string];
        return { topic, partition: Number(p), value };
      },
    );
    return out.sort((a, b) => a.topic.localeCompare(b.topic) || a.partition - b.partition);
  }

  /** Forget all of a group's offsets (DeleteGroups), with tombstones in the journal. */
  deleteGroup(group: string): void {
    for (const { topic, partition } of this.committed(group)) {
      this.dataDir?.appendOffset({
        group,
        topic,
        partition,
        offset: -1,
        metadata: null,
        deleted: true,
      });
    }
    this.byGroup.delete(group);
  }

  /** Forget a deleted topic's offsets in every group (with a tombstone in the journal). */
  deleteTopic(topic: string): void {
    for (const [group, offsets] of this.byGroup) {
      for (const k of [...offsets.keys()]) {
        const [t, p] = k.split('\u0000') as [string, string];
        if (t !== topic) continue;
        offsets.delete(k);
        this.dataDir?.appendOffset({
          group,
          topic,
          partition: Number(p),
          offset: -1,
          metadata: null,
          deleted: true,
        });
      }
    }
  }

  private set(
    group: string,
    topic: string,
    partition: number,
    value: CommittedOffset,
    persist: boolean,
  ): void {
    let offsets = this.byGroup.get(group);
    if (!offsets) {
      offsets = new Map();
      this.byGroup.set(group, offsets);
    }
    offsets.set(key(topic, partition), value);
    if (persist) this.dataDir?.appendOffset({ group, topic, partition, ...value });
  }
}

function key(topic: string, partition: number): string {
  return `${topic}\u0000${partition}`;
}
