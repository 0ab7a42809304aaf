import { type Handler } from './handler';
import { Writer } from '../protocol/writer';

/*
 * The transactional producer's APIs, each at v0-v1 (identical layouts; v1 only changes
 * throttling). All go to this broker, the coordinator of every transactional id.
 */

/** AddPartitionsToTxn: register partitions in the open transaction. */
export const addPartitionsToTxn: Handler = (ctx, r) => {
  const transactionalId = r.string();
  const producerId = r.int64();
  const epoch = r.int16();
  const topics = r.array((r) => ({ name: r.string(), partitions: r.array((r) => r.int32()) }));
  const flat = topics.flatMap((t) =>
    t.partitions.map((partition) => ({ topic: t.name, partition })),
  );
  const errors = ctx.broker.transactions.addPartitions(transactionalId, producerId, epoch, flat);
  let i = 0;
  const w = new Writer().int32(0); // throttle_time_ms
  return w.array(topics, (w, t) => {
    w.string(t.name).array(t.partitions, (w, p) => {
      w.int32(p).int16(errors[i++] ?? 0);
    });
  });
};

/** AddOffsetsToTxn: the transaction will commit offsets of this group. */
export const addOffsetsToTxn: Handler = (ctx, r) => {
  const transactionalId = r.string();
  const producerId = r.int64();
  const epoch = r.int16();
  const groupId = r.string();
  const error = ctx.broker.transactions.addOffsets(transactionalId, producerId, epoch, groupId);
  return new Writer().int32(0).int16(error);
};

/** TxnOffsetCommit: offsets that become committed when the transaction commits. */
export const txnOffsetCommit: Handler = (ctx, r) => {
  r.string(); // transactional_id: the group coordinator does not check it, as in Kafka
  const groupId = r.string();
  const producerId = r.int64();
  r.int16(); // producer_epoch
  const topics = r.array((r) => ({
    name: r.string(),
    partitions: r.array((r) => ({
      partition: r.int32(),
      offset: r.int64(),
      metadata: r.nullableString(),
    })),
  }));
  const offsets = topics.flatMap((t) => t.partitions.map((p) => ({ topic: t.name, ...p })));
  const error = ctx.broker.transactions.commitOffsets(groupId, producerId, offsets);
  const w = new Writer().int32(0); // throttle_time_ms
  return w.array(topics, (w, t) => {
    w.string(t.name).array(t.partitions, (w, p) => w.int32(p.partition).int16(error));
  });
};

/** EndTxn: commit or abort, writing the markers. */
export const endTxn: Handler = (ctx, r) => {
  const transactionalId = r.string();
  const producerId = r.int64();
  const epoch = r.int16();
  const commit = r.boolean();
  const error = ctx.broker.transactions.end(transactionalId, producerId, epoch, commit);
  return new Writer().int32(0).int16(error);
};
