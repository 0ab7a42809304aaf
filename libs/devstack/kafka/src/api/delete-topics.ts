import { type Handler } from './handler';
import { ErrorCode } from '../protocol/error-codes';
import { Writer } from '../protocol/writer';

/** DeleteTopics v0-v1 (v1 throttle_time_ms): drops the log (and its files) and the topic's committed offsets. */
export const deleteTopics: Handler = (ctx, r) => {
  const names = r.array((r) => r.string());
  r.int32(); // timeout_ms
  const b = ctx.broker;
  const w = new Writer();
  if (ctx.apiVersion >= 1) w.int32(0); // throttle_time_ms
  return w.array(names, (w, name) => {
    const deleted = b.topics.delete(name);
    if (deleted) {
      b.coordinator.deleteTopicOffsets(name);
      b.logger.info({ topic: name }, 'deleted topic');
    }
    w.string(name).int16(deleted ? ErrorCode.NONE : ErrorCode.UNKNOWN_TOPIC_OR_PARTITION);
  });
};
