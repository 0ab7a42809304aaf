import * as fs from 'node:fs';
import * as path from 'node:path';
import { type LogConfig } from '../log/log-config';
import { FilePartitionStore } from './partition-store';

export interface TopicMeta {
  readonly name: string;
  readonly partitions: number;
  readonly config: LogConfig;
  /** Topic configs set by CreateTopics or AlterConfigs, verbatim (absent in older data dirs). */
  readonly overrides?: Readonly<Record<string, string>>;
}

export interface CommittedOffsetRecord {
  readonly group: string;
  readonly topic: string;
  readonly partition: number;
  readonly offset: number;
  readonly metadata: string | null;
  /** A tombstone: the offset was removed (its topic was deleted). */
  readonly deleted?: true;
}

/**
 * Layout of a broker data directory:
 *
 *   <dataDir>/topics/<topic>/topic.json              partition count and log config
 *   <dataDir>/topics/<topic>/<partition>/<base>.log  append-only segments (see FilePartitionStore)
 *   <dataDir>/consumer-offsets.jsonl                 committed offsets, one JSON line per commit;
 *                                                    replayed (last write wins) and compacted on start
 */
export class DataDir {
  private readonly topicsDir: string;
  private readonly offsetsFile: string;
  private offsetsFd: number | null = null;

  constructor(
    readonly root: string,
    private readonly warn: (msg: string) => void,
  ) {
    this.topicsDir = path.join(root, 'topics');
    this.offsetsFile = path.join(root, 'consumer-offsets.jsonl');
    fs.mkdirSync(this.topicsDir, { recursive: true });
  }

  listTopics(): TopicMeta[] {
    const out: TopicMeta[] = [];
    for (const name of fs.readdirSync(this.topicsDir)) {
      const metaFile = path.join(this.topicsDir, name, 'topic.json');
      if (!fs.existsSync(metaFile)) continue;
      out.push(JSON.parse(fs.readFileSync(metaFile, 'utf8')) as TopicMeta);
    }
    return out;
  }

  saveTopic(meta: TopicMeta): void {
    const dir = path.join(this.topicsDir, meta.name);
    fs.mkdirSync(dir, { recursive: true });
    fs.writeFileSync(path.join(dir, 'topic.json'), JSON.stringify(meta));
  }

  deleteTopic(name: string): void {
    fs.rmSync(path.join(this.topicsDir, name), { recursive: true, force: true });
  }

  partitionStore(topic: string, partition: number): FilePartitionStore {
    return new FilePartitionStore(path.join(this.topicsDir, topic, String(partition)), this.warn);
  }

  /** Replay the offsets journal (last write wins), rewrite it compacted, and return it. */
  loadOffsets(): CommittedOffsetRecord[] {
    const latest = new Map<string, CommittedOffsetRecord>();
    if (fs.existsSync(this.offsetsFile)) {
      for (const line of fs.readFileSync(this.offsetsFile, 'utf8').split('\n')) {
        if (!line.trim()) continue;
        try {
          const rec = JSON.parse(line) as CommittedOffsetRecord;
          const key = `${rec.group}\u0000${rec.topic}\u0000${rec.partition}`;
          if (rec.deleted) latest.delete(key);
          else latest.set(key, rec);
        } catch {
          this.warn(`skipping torn line in ${this.offsetsFile}`);
        }
      }
    }
    const records = [...latest.values()];
    const tmp = this.offsetsFile + '.tmp';
    fs.writeFileSync(tmp, records.map((r) => JSON.stringify(r) + '\n').join(''));
    fs.renameSync(tmp, this.offsetsFile);
    return records;
  }

  appendOffset(rec: CommittedOffsetRecord): void {
    if (this.offsetsFd === null) this.offsetsFd = fs.openSync(this.offsetsFile, 'a');
    fs.writeSync(this.offsetsFd, JSON.stringify(rec) + '\n');
  }

  close(): void {
    if (this.offsetsFd !== null) fs.closeSync(this.offsetsFd);
    this.offsetsFd = null;
  }
}
