import { type Handler } from './handler';
import { ErrorCode } from '../protocol/error-codes';
import { Writer } from '../protocol/writer';

/**
 * InitProducerId v0-v1 (identical layouts). Idempotent producers get a fresh producer id, epoch 0;
 * a transactional id keeps its producer id and gets the next epoch, which aborts its open
 * transaction and fences the previous producer (see TransactionCoordinator).
 */
export const initProducerId: Handler = (ctx, r) => {
  const transactionalId = r.nullableString();
  r.int32(); // transaction_timeout_ms: transactions never time out here
  const w = new Writer().int32(0); // throttle_time_ms
  if (transactionalId === null) {
    return w.int16(ErrorCode.NONE).int64(ctx.broker.nextProducerId()).int16(0);
  }
  const res = ctx.broker.transactions.init(transactionalId);
  return w.int16(res.errorCode).int64(res.producerId).int16(res.epoch);
};
