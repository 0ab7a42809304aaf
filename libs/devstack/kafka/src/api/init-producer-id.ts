import { type Handler } from './handler';
import { ErrorCode } from '../protocol/error-codes';
import { Writer } from '../protocol/writer';

/**
 * InitProducerId v0-v1 (identical layouts) for idempotent producers: a fresh producer id, epoch 0. Transactions are not
 * implemented (no AddPartitionsToTxn/EndTxn), so a transactional id gets INVALID_REQUEST.
 */
export const initProducerId: Handler = (ctx, r) => {
  const transactionalId = r.nullableString();
  r.int32(); // transaction_timeout_ms
  const w = new Writer().int32(0);
  if (transactionalId !== null) {
    ctx.broker.logger.warn({ transactionalId }, 'transactions are not supported');
    return w.int16(ErrorCode.INVALID_REQUEST).int64(-1).int16(-1);
  }
  return w.int16(ErrorCode.NONE).int64(ctx.broker.nextProducerId()).int16(0);
};
