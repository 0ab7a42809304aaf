import { type LogConfig } from './log-config';
import { PartitionLog } from './partition-log';
import { type DataDir } from '../persistence/data-dir';

export interface Topic {
  readonly name: string;
  config: LogConfig;
  /** Configs set explicitly (CreateTopics entries, AlterConfigs), as DescribeConfigs reports them. */
  overrides: Readonly<Record<string, string>>;
  readonly partitions: PartitionLog[];
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
        const topic = this.build(meta.name, meta.partitions, meta.config);
        topic.overrides = meta.overrides ?? {};
        this.topics.set(meta.name, topic);
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

  create(
    name: string,
    partitions: number,
    config: LogConfig = this.defaultConfig,
    overrides: Readonly<Record<string, string>> = {},
  ): Topic {
    const topic = this.build(name, partitions, config);
    topic.overrides = overrides;
    this.topics.set(name, topic);
    this.save(topic);
    return topic;
  }

  /** CreatePartitions: grow a topic to `count` partitions (the caller checks count > current). */
  addPartitions(topic: Topic, count: number): void {
    for (let i = topic.partitions.length; i < count; i++) {
      topic.partitions.push(this.partitionLog(topic.name, i, topic.config));
    }
    this.save(topic);
  }

  /** AlterConfigs: replace a topic's explicit configs and apply the resulting log config. */
  setConfig(topic: Topic, config: LogConfig, overrides: Readonly<Record<string, string>>): void {
    topic.config = config;
    topic.overrides = overrides;
    for (const p of topic.partitions) p.setConfig(config);
    this.save(topic);
  }

  private save(topic: Topic): void {
    this.dataDir?.saveTopic({
      name: topic.name,
      partitions: topic.partitions.length,
      config: topic.config,
      overrides: topic.overrides,
    });
  }

  delete(name: string): boolean {
    const topic = this.topics.get(name);
    if (!topic) return false;
    this.topics.delete(name);
    for (const p of topic.partitions) p.destroy();
    this.dataDir?.deleteTopic(name);
    return true;
  }

  /** Highest producer id found in any stored batch (-1 when none). */
  maxProducerId(): number {
    let max = -1;
    for (const topic of this.topics.values()) {
      for (const p of topic.partitions) max = Math.max(max, p.maxProducerId);
    }
    return max;
  }

  enforceRetention(now: number): void {
    for (const topic of this.topics.values()) {
      for (const p of topic.partitions) p.enforceRetention(now);
    }
  }

  private build(name: string, count: number, config: LogConfig): Topic {
    const partitions: PartitionLog[] = [];
    for (let i = 0; i < count; i++) partitions.push(this.partitionLog(name, i, config));
    return { name, config, overrides: {}, partitions };
  }

  private partitionLog(name: string, i: number, config: LogConfig): PartitionLog {
    const store = this.dataDir ? this.dataDir.partitionStore(name, i) : null;
    return new PartitionLog(name, i, config, store, () => this.onAppend(name, i));
  }

  close(): void {
    for (const topic of this.topics.values()) {
      for (const p of topic.partitions) p.close();
    }
  }
}
