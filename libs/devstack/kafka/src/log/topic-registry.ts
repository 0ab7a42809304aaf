import { type LogConfig } from './log-config';
import { PartitionLog } from './partition-log';
import { type DataDir } from '../persistence/data-dir';

export interface Topic {
  readonly name: string;
  readonly config: LogConfig;
  readonly partitions: readonly PartitionLog[];
}

const TOPIC_NAME = /^[a-zA-Z0-9._-]{1,249}$/;

export function isValidTopicName(name: string): boolean {
  return TOPIC_NAME.test(name) && name !== '.' && name !== '..';
}

/** All topics and their partition logs; persists topic metadata when a data dir is set. */
export class TopicRegistry {
  private readonly topics = new Map<string, Topic>();

  constructor(
    readonly defaultConfig: LogConfig,
    private readonly dataDir: DataDir | null,
    private readonly onAppend: (topic: string, partition: number) => void,
  ) {
    if (dataDir) {
      for (const meta of dataDir.listTopics()) {
        this.topics.set(meta.name, this.build(meta.name, meta.partitions, meta.config));
      }
    }
  }

  get(name: string): Topic | undefined {
    return this.topics.get(name);
  }

  partition(topic: string, partition: number): PartitionLog | undefined {
    return this.topics.get(topic)?.partitions[partition];
  }

  names(): string[] {
    return [...this.topics.keys()].sort();
  }

  all(): Topic[] {
    return [...this.topics.values()];
  }

  create(name: string, partitions: number, config: LogConfig = this.defaultConfig): Topic {
    const topic = this.build(name, partitions, config);
    this.dataDir?.saveTopic({ name, partitions, config });
    this.topics.set(name, topic);
    return topic;
  }

  delete(name: string): boolean {
    const topic = this.topics.get(name);
    if (!topic) return false;
    this.topics.delete(name);
    for (const p of topic.partitions) p.destroy();
    this.dataDir?.deleteTopic(name);
    return true;
  }

  enforceRetention(now: number): void {
    for (const topic of this.topics.values()) {
      for (const p of topic.partitions) p.enforceRetention(now);
    }
  }

  private build(name: string, count: number, config: LogConfig): Topic {
    const partitions: PartitionLog[] = [];
    for (let i = 0; i < count; i++) {
      const store = this.dataDir ? this.dataDir.partitionStore(name, i) : null;
      partitions.push(new PartitionLog(name, i, config, store, () => this.onAppend(name, i)));
    }
    return { name, config, partitions };
  }

  close(): void {
    for (const topic of this.topics.values()) {
      for (const p of topic.partitions) p.close();
    }
  }
}
