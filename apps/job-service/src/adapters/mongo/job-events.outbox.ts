import { jobV1, topics } from '@trellis/contracts';
import { toOutboxMessage } from '@trellis/platform/messaging';
import type { OutboxMessage } from '@trellis/platform/mongo';
import type { JobError, JobEvent } from '../../domain/job';
import { toDuration } from '../proto-time';

const AGGREGATE_TYPE = 'job';

function protoError(error: JobError | null): jobV1.JobError | undefined {
  return error ? jobV1.JobError.fromPartial(error) : undefined;
}

/** Domain events → trellis.job.v1 event messages in envelopes for `job.events.v1`. */
export function toOutboxMessages(events: JobEvent[]): OutboxMessage[] {
  return events.map((event) => {
    const { job } = event;
    const aggregate = { id: job.id, type: AGGREGATE_TYPE };
    const topic = topics.jobEvents;
    switch (event.type) {
      case 'JobCreated':
        return toOutboxMessage(
          topic,
          'trellis.job.v1.JobCreated',
          jobV1.JobCreated.fromPartial({
            jobId: job.id,
            type: job.type,
            priority: job.priority,
            runAt: job.runAt,
            maxAttempts: job.maxAttempts,
            idempotencyKey: job.idempotencyKey,
            createdAt: job.createdAt,
            parentId: job.parentId ?? '',
            childCount: job.childCount,
          }),
          aggregate,
          job.updatedAt,
        );
      case 'JobStarted':
        return toOutboxMessage(
          topic,
          'trellis.job.v1.JobStarted',
          jobV1.JobStarted.fromPartial({
            jobId: job.id,
            type: job.type,
            attempt: job.attempts,
            workerId: job.workerId,
            leaseExpiresAt: job.leaseExpiresAt ?? undefined,
            startedAt: job.startedAt ?? undefined,
          }),
          aggregate,
          job.updatedAt,
        );
      case 'JobSucceeded':
        return toOutboxMessage(
          topic,
          'trellis.job.v1.JobSucceeded',
          jobV1.JobSucceeded.fromPartial({
            jobId: job.id,
            type: job.type,
            attempt: job.attempts,
            result: job.result ?? {},
            runDuration: toDuration(event.runDurationMs),
            finishedAt: job.finishedAt ?? undefined,
          }),
          aggregate,
          job.updatedAt,
        );
      case 'JobFailed':
        return toOutboxMessage(
          topic,
          'trellis.job.v1.JobFailed',
          jobV1.JobFailed.fromPartial({
            jobId: job.id,
            type: job.type,
            attempt: event.error.attempt,
            maxAttempts: job.maxAttempts,
            error: protoError(event.error),
            willRetry: event.willRetry,
            nextRunAt: event.nextRunAt ?? undefined,
          }),
          aggregate,
          job.updatedAt,
        );
      case 'JobDeadLettered':
        return toOutboxMessage(
          topic,
          'trellis.job.v1.JobDeadLettered',
          jobV1.JobDeadLettered.fromPartial({
            jobId: job.id,
            type: job.type,
            attempts: job.attempts,
            lastError: protoError(job.lastError),
            deadLetteredAt: job.finishedAt ?? job.updatedAt,
          }),
          aggregate,
          job.updatedAt,
        );
      case 'JobCancelled':
        return toOutboxMessage(
          topic,
          'trellis.job.v1.JobCancelled',
          jobV1.JobCancelled.fromPartial({
            jobId: job.id,
            type: job.type,
            reason: job.cancelReason,
            wasRunning: event.wasRunning,
            cancelledAt: job.finishedAt ?? job.updatedAt,
          }),
          aggregate,
          job.updatedAt,
        );
      case 'JobChildrenCompleted':
        return toOutboxMessage(
          topic,
          'trellis.job.v1.JobChildrenCompleted',
          jobV1.JobChildrenCompleted.fromPartial({
            jobId: job.id,
            type: job.type,
            childCount: job.childCount,
            runAt: job.runAt,
          }),
          aggregate,
          job.updatedAt,
        );
    }
  });
}
