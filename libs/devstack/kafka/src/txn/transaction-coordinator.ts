import { type GroupCoordinator } from '../group/group-coordinator';
import { type TopicRegistry } from '../log/topic-registry';
import { ErrorCode } from '../protocol/error-codes';

interface PendingOffset {
  readonly topic: string;
  readonly partition: number;
  readonly offset: number;
  readonly metadata: string | null;
}

interface Transaction {
  producerId: number;
  epoch: number;
  readonly partitions: Map<string, { topic: string; partition: number }>;
  readonly groups: Set<string>;
}

export interface ProducerIdAndEpoch {
  readonly errorCode: number;
  readonly producerId: number;
  readonly epoch: number;
}

const MAX_EPOCH = 32767;

/**
 * The transaction coordinator for transactional producers (KIP-98), kept in memory: transactional
 * id → producer id, epoch and the open transaction's partitions and pending offset commits.
 * EndTxn writes COMMIT or ABORT markers to every partition of the transaction and applies the
 * pending offsets on commit. A new InitProducerId for the same id aborts an open transaction and
 * bumps the epoch, fencing the previous producer (INVALID_PRODUCER_EPOCH on its next request).
 * Not persisted and without transaction.timeout.ms: a restart aborts what was open (PartitionLog).
 */
export class TransactionCoordinator {
  private readonly txns = new Map<string, Transaction>();
  /**
   * TxnOffsetCommit offsets by producer id and group. As in Kafka they are kept by the group
   * coordinator without checking the transactional id mapping, and become committed only when a
   * COMMIT marker for that producer reaches a group that AddOffsetsToTxn added.
   */
  private readonly pendingOffsets = new Map<number, Map<string, PendingOffset[]>>();

  constructor(
    private readonly topics: TopicRegistry,
    private readonly groups: GroupCoordinator,
    private readonly nextProducerId: () => number,
  ) {}

  init(transactionalId: string): ProducerIdAndEpoch {
    const txn = this.txns.get(transactionalId);
    if (!txn) {
      const created: Transaction = {
        producerId: this.nextProducerId(),
        epoch: 0,
        partitions: new Map(),
        groups: new Set(),
      };
      this.txns.set(transactionalId, created);
      return { errorCode: ErrorCode.NONE, producerId: created.producerId, epoch: 0 };
    }
    if (this.isOpen(txn)) this.complete(txn, false);
    if (txn.epoch >= MAX_EPOCH) {
      txn.producerId = this.nextProducerId();
      txn.epoch = 0;
    } else {
      txn.epoch += 1;
    }
    return { errorCode: ErrorCode.NONE, producerId: txn.producerId, epoch: txn.epoch };
  }

  addPartitions(
    transactionalId: string,
    producerId: number,
    epoch: number,
    partitions: readonly { topic: string; partition: number }[],
  ): number[] {
    const txn = this.check(transactionalId, producerId, epoch);
    if (typeof txn === 'number') return partitions.map(() => txn);
    const errors = partitions.map((p) =>
      this.topics.partition(p.topic, p.partition)
        ? ErrorCode.NONE
        : ErrorCode.UNKNOWN_TOPIC_OR_PARTITION,
    );
    // Kafka adds all or nothing: the valid partitions of a failed request are OPERATION_NOT_ATTEMPTED.
    if (errors.some((e) => e !== ErrorCode.NONE)) {
      return errors.map((e) => (e === ErrorCode.NONE ? ErrorCode.OPERATION_NOT_ATTEMPTED : e));
    }
    for (const p of partitions) txn.partitions.set(`${p.topic}\u0000${p.partition}`, p);
    return errors;
  }

  addOffsets(transactionalId: string, producerId: number, epoch: number, groupId: string): number {
    const txn = this.check(transactionalId, producerId, epoch);
    if (typeof txn === 'number') return txn;
    txn.groups.add(groupId);
    return ErrorCode.NONE;
  }

  commitOffsets(groupId: string, producerId: number, offsets: readonly PendingOffset[]): number {
    let byGroup = this.pendingOffsets.get(producerId);
    if (!byGroup) {
      byGroup = new Map();
      this.pendingOffsets.set(producerId, byGroup);
    }
    byGroup.set(groupId, [...(byGroup.get(groupId) ?? []), ...offsets]);
    return ErrorCode.NONE;
  }

  end(transactionalId: string, producerId: number, epoch: number, commit: boolean): number {
    const txn = this.check(transactionalId, producerId, epoch);
    if (typeof txn === 'number') return txn;
    if (!this.isOpen(txn)) return ErrorCode.INVALID_TXN_STATE;
    this.complete(txn, commit);
    return ErrorCode.NONE;
  }

  private check(transactionalId: string, producerId: number, epoch: number): Transaction | number {
    const txn = this.txns.get(transactionalId);
    if (!txn || txn.producerId !== producerId) return ErrorCode.INVALID_PRODUCER_ID_MAPPING;
    if (epoch !== txn.epoch) return ErrorCode.INVALID_PRODUCER_EPOCH;
    return txn;
  }

  private isOpen(txn: Transaction): boolean {
    return txn.partitions.size > 0 || txn.groups.size > 0;
  }

  private complete(txn: Transaction, commit: boolean): void {
    for (const { topic, partition } of txn.partitions.values()) {
      this.topics.partition(topic, partition)?.writeMarker(txn.producerId, txn.epoch, commit);
    }
    const pending = this.pendingOffsets.get(txn.producerId);
    for (const group of txn.groups) {
      const offsets = pending?.get(group) ?? [];
      pending?.delete(group);
      if (!commit) continue;
      for (const o of offsets) {
        this.groups.commitOffset(group, o.topic, o.partition, o.offset, o.metadata);
      }
    }
    if (pending?.size === 0) this.pendingOffsets.delete(txn.producerId);
    txn.partitions.clear();
    txn.groups.clear();
  }
}
